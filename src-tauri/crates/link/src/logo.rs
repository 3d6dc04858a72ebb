//! A company's logo for the request card: fetched under the same network
//! rules, at most [`LOGO_CAP`], and shown only when its bytes are PNG, JPEG,
//! WebP, GIF or SVG, as a `data:` URL (so the page never loads anything from
//! the company itself).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::net::Net;

/// The largest logo fetched.
pub const LOGO_CAP: usize = 64 * 1024;

const ACCEPT: &str = "image/png, image/jpeg, image/webp, image/gif, image/svg+xml";

/// The logo as a `data:` URL, or `None` when it cannot be fetched under the
/// rules or is not one of the shown image types.
pub async fn logo_data_url(net: &Net, logo_uri: &str) -> Option<String> {
    match net.fetch(logo_uri, ACCEPT, LOGO_CAP).await {
        Ok(bytes) => data_url(&bytes),
        Err(err) => {
            tracing::info!(%err, "company logo not shown");
            None
        }
    }
}

/// The image type the bytes are, by their first bytes, not by what the
/// company's server says.
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if is_svg(bytes) {
        Some("image/svg+xml")
    } else {
        None
    }
}

fn is_svg(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let text = text.trim_start_matches('\u{feff}').trim_start();
    let head: String = text
        .chars()
        .take(1024)
        .collect::<String>()
        .to_ascii_lowercase();
    (head.starts_with("<svg") || head.starts_with("<?xml") || head.starts_with("<!--"))
        && head.contains("<svg")
}

/// `data:<type>;base64,…` for a shown image type.
pub fn data_url(bytes: &[u8]) -> Option<String> {
    let kind = image_type(bytes)?;
    Some(format!("data:{kind};base64,{}", B64.encode(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_shown_image_types_become_data_urls() {
        let cases: &[(&[u8], Option<&str>)] = &[
            (b"\x89PNG\r\n\x1a\n....", Some("image/png")),
            (&[0xff, 0xd8, 0xff, 0xe0, 0], Some("image/jpeg")),
            (b"GIF89a....", Some("image/gif")),
            (b"RIFF\0\0\0\0WEBPVP8 ", Some("image/webp")),
            (
                b"<svg xmlns='http://www.w3.org/2000/svg'/>",
                Some("image/svg+xml"),
            ),
            (b"<?xml version='1.0'?><svg/>", Some("image/svg+xml")),
            (b"<html><script>alert(1)</script>", None),
            (b"<?xml version='1.0'?><html/>", None),
            (b"{\"json\":true}", None),
            (b"", None),
        ];
        for (bytes, want) in cases {
            assert_eq!(
                image_type(bytes),
                *want,
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        assert_eq!(
            data_url(b"GIF89a").as_deref(),
            Some("data:image/gif;base64,R0lGODlh")
        );
    }
}
