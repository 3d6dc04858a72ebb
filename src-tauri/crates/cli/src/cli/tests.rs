//! The command line's shape: flags that must parse or be refused.

use clap::CommandFactory;

#[test]
fn command_line_definition_is_consistent() {
    super::Cli::command().debug_assert();
}

#[test]
fn serve_takes_its_limits_as_flags() {
    use clap::Parser;
    let parsed = super::Cli::try_parse_from([
        "custodian",
        "serve",
        "--max-connections",
        "32",
        "--header-timeout",
        "2s",
        "--body-timeout",
        "500ms",
        "--shutdown-grace",
        "1m",
        "--transfers-per-company",
        "1",
        "--min-transfer-rate",
        "64",
    ])
    .unwrap();
    let super::Command::Serve(args) = parsed.command else {
        panic!("not serve")
    };
    assert_eq!(args.max_connections, 32);
    assert_eq!(args.header_timeout, std::time::Duration::from_secs(2));
    assert_eq!(args.body_timeout, std::time::Duration::from_millis(500));
    assert_eq!(args.shutdown_grace, std::time::Duration::from_secs(60));
    assert_eq!(args.transfers_per_company, 1);
    assert_eq!(args.min_transfer_rate, 64);
    for bad in [
        ["--max-connections", "0"],
        ["--transfers-per-company", "0"],
        // More than half the stream slots would be no cap.
        ["--transfers-per-company", "3"],
        ["--min-transfer-rate", "-1"],
        ["--header-timeout", "0s"],
        ["--body-timeout", "soon"],
    ] {
        let args = ["custodian", "serve", bad[0], bad[1]];
        assert!(super::Cli::try_parse_from(args).is_err(), "{bad:?}");
    }
    // The defaults are the server's own.
    let parsed = super::Cli::try_parse_from(["custodian", "serve"]).unwrap();
    let super::Command::Serve(args) = parsed.command else {
        panic!("not serve")
    };
    assert_eq!(
        args.header_timeout,
        custodian_server::DEFAULT_HEADER_READ_TIMEOUT
    );
    assert_eq!(
        args.body_timeout,
        custodian_server::DEFAULT_BODY_READ_TIMEOUT
    );
    assert_eq!(
        args.shutdown_grace,
        custodian_server::DEFAULT_SHUTDOWN_GRACE
    );
    let transfers = custodian_core::limits::transfer::TransferLimits::default();
    assert_eq!(args.transfers_per_company, transfers.per_company);
    assert_eq!(args.min_transfer_rate * 1024, transfers.min_rate);
}
