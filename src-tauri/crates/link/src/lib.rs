//! custodian-link: the desktop's outward door to companies on the internet.
//! (Skeleton: filled in by issue 15.)
