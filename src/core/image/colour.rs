//! Colour: pixels converted from an embedded ICC profile to sRGB (Nova Canvas, like browsers,
//! reads untagged RGB as sRGB). Phones tag photos Display P3, cameras Adobe RGB: sent as they
//! are, their colours would shift.

use image::RgbImage;

/// Converts pixels from an embedded ICC profile to sRGB and says what was done, for
/// `colorProfile`. Profiles with sRGB primaries are left alone; a profile that cannot be
/// parsed or converted is ignored and said so.
pub fn to_srgb(img: &mut RgbImage, icc: &[u8]) -> String {
    let profile = match moxcms::ColorProfile::new_from_slice(icc) {
        Ok(p) => p,
        Err(e) => return format!("ignored (unreadable ICC profile: {e:?})"),
    };
    let name = profile_name(&profile);
    let srgb = moxcms::ColorProfile::new_srgb();
    if has_srgb_primaries(&profile) {
        return "sRGB".to_owned();
    }
    let options = moxcms::TransformOptions::default();
    let transform = match profile.create_transform_8bit(moxcms::Layout::Rgb, &srgb, moxcms::Layout::Rgb, options) {
        Ok(t) => t,
        Err(e) => return format!("ignored ({name}: cannot convert: {e:?})"),
    };
    // In bands, so the extra memory is a few rows, not a second image.
    let band = img.width() as usize * 3 * 64;
    let mut out = vec![0u8; band];
    for chunk in img.chunks_mut(band) {
        let dst = &mut out[..chunk.len()];
        if transform.transform(chunk, dst).is_err() {
            return format!("ignored ({name}: conversion failed)");
        }
        chunk.copy_from_slice(dst);
    }
    format!("converted to sRGB from {name}")
}

fn has_srgb_primaries(profile: &moxcms::ColorProfile) -> bool {
    let srgb = moxcms::ColorProfile::new_srgb();
    let close = |a: moxcms::Xyzd, b: moxcms::Xyzd| (a.x - b.x).abs() + (a.y - b.y).abs() + (a.z - b.z).abs() < 0.003;
    close(profile.red_colorant, srgb.red_colorant)
        && close(profile.green_colorant, srgb.green_colorant)
        && close(profile.blue_colorant, srgb.blue_colorant)
}

/// Whether [`to_srgb`] would change pixels for this profile.
pub fn icc_needs_conversion(icc: &[u8]) -> bool {
    moxcms::ColorProfile::new_from_slice(icc).is_ok_and(|p| !has_srgb_primaries(&p))
}

fn profile_name(p: &moxcms::ColorProfile) -> String {
    let text = match &p.description {
        Some(moxcms::ProfileText::PlainString(s)) => s.clone(),
        Some(moxcms::ProfileText::Localizable(v)) => v.first().map(|l| l.value.clone()).unwrap_or_default(),
        _ => String::new(),
    };
    let text = text.trim_matches(char::from(0)).trim().to_owned();
    if text.is_empty() {
        "an unnamed profile".to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn only_profiles_that_are_not_srgb_change_pixels() {
        let original = RgbImage::from_fn(70, 130, |x, y| Rgb([(x * 3) as u8, (y * 2) as u8, 90]));
        let srgb = moxcms::ColorProfile::new_srgb().encode().unwrap();
        let mut img = original.clone();
        assert_eq!(to_srgb(&mut img, &srgb), "sRGB");
        assert!(!icc_needs_conversion(&srgb));
        assert_eq!(img, original);

        let adobe = moxcms::ColorProfile::new_adobe_rgb().encode().unwrap();
        assert!(icc_needs_conversion(&adobe));
        let note = to_srgb(&mut img, &adobe);
        assert!(note.starts_with("converted to sRGB from "), "{note}");
        assert_ne!(img, original);

        let mut img = original.clone();
        let note = to_srgb(&mut img, b"not a profile");
        assert!(note.starts_with("ignored (unreadable ICC profile"), "{note}");
        assert!(!icc_needs_conversion(b"not a profile"));
        assert_eq!(img, original);
    }
}
