//! What an upload is, told from its bytes: the formats accepted as uploads, the encodings
//! sent to Nova Canvas, and the sniffing that tells them apart and names what is refused.

use image::ImageFormat;
use serde::{Deserialize, Serialize};

use crate::core::error::{ErrorCode, JobError};

/// Formats accepted as uploads, detected from bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    Jpeg,
    Png,
    Webp,
}

impl InputFormat {
    /// The `image` crate's name for the format.
    pub fn image_format(self) -> ImageFormat {
        match self {
            InputFormat::Jpeg => ImageFormat::Jpeg,
            InputFormat::Png => ImageFormat::Png,
            InputFormat::Webp => ImageFormat::WebP,
        }
    }
}

/// Encodings sent to Nova Canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Jpeg,
    Png,
}

impl Encoding {
    pub fn mime(self) -> &'static str {
        match self {
            Encoding::Jpeg => "image/jpeg",
            Encoding::Png => "image/png",
        }
    }
}

/// Detects the format from magic bytes, naming what was found when it is not accepted.
pub fn sniff(bytes: &[u8]) -> Result<InputFormat, JobError> {
    if bytes.is_empty() {
        return Err(JobError::new(ErrorCode::InvalidImage, "the file is empty (0 bytes)"));
    }
    let unsupported = |what: &str| {
        Err(JobError::new(
            ErrorCode::UnsupportedImage,
            format!("{what} is not supported; upload a JPEG, PNG or WebP image"),
        ))
    };
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        let brand = &bytes[8..12];
        return match brand {
            b"heic" | b"heix" | b"hevc" | b"heim" | b"heis" | b"mif1" | b"msf1" => unsupported("HEIC/HEIF"),
            b"avif" | b"avis" => unsupported("AVIF"),
            _ => unsupported("an ISO media file"),
        };
    }
    // SOI alone marks a JPEG, even when what follows is damaged (decoding says how).
    if bytes.starts_with(&[0xFF, 0xD8]) {
        return Ok(InputFormat::Jpeg);
    }
    match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => Ok(InputFormat::Jpeg),
        Ok(ImageFormat::Png) => Ok(InputFormat::Png),
        Ok(ImageFormat::WebP) => Ok(InputFormat::Webp),
        Ok(other) => unsupported(&format!("{other:?}").to_uppercase()),
        Err(_) => {
            let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
            if head.contains("<svg") || (head.trim_start().starts_with("<?xml") && head.contains("svg")) {
                unsupported("SVG")
            } else {
                unsupported("this file type (not a recognised image)")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{DynamicImage, Rgb, RgbImage};

    #[test]
    fn sniffs_formats_from_bytes_not_names() {
        let img = RgbImage::from_pixel(4, 4, Rgb([1, 2, 3]));
        let jpeg = crate::core::image::jpeg::encode_rgb(&img, 95, false).unwrap();
        assert_eq!(sniff(&jpeg).unwrap(), InputFormat::Jpeg);
        let mut png = Vec::new();
        DynamicImage::ImageRgb8(img).write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png).unwrap();
        assert_eq!(sniff(&png).unwrap(), InputFormat::Png);
        assert_eq!(sniff(b"").unwrap_err().code, ErrorCode::InvalidImage);
        for (bytes, name) in [
            (&b"GIF89a\x01\x00\x01\x00"[..], "GIF"),
            (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "HEIC"),
            (b"<?xml version=\"1.0\"?><svg xmlns='http://www.w3.org/2000/svg'/>", "SVG"),
            (b"hello, this is text", "not a recognised image"),
        ] {
            let e = sniff(bytes).unwrap_err();
            assert_eq!(e.code, ErrorCode::UnsupportedImage);
            assert!(e.message.contains(name), "{}", e.message);
        }
    }
}
