//! The try-on backends this function can call, as facts: their names, what kind of model
//! each is, the platforms it runs on and the images each accepts. Pure data with no imports from the rest of the
//! crate, so the manifest, the image preparation and the backends themselves can all read it.
//! How each backend builds its request and reads its reply lives in [`crate::backends`].

use serde::{Deserialize, Serialize};

/// A try-on backend, by the name the manifest and `TRYON_BACKEND` use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// Amazon Nova Canvas `VIRTUAL_TRY_ON` through Bedrock `InvokeModel` (end of life
    /// 2026-09-30; accounts with continued access).
    NovaCanvas,
    /// Google Vertex AI Virtual Try-On (`virtual-try-on-001`) through `:predict`.
    VertexVto,
    /// A Gemini image model on Vertex AI through `generateContent`, with an instruction.
    GeminiImage,
    /// An image-editing model through Bedrock `Converse` (Nova 2 Omni, preview), with an
    /// instruction.
    BedrockConverse,
}

impl Backend {
    pub const ALL: [Backend; 4] =
        [Backend::NovaCanvas, Backend::VertexVto, Backend::GeminiImage, Backend::BedrockConverse];

    pub fn name(self) -> &'static str {
        match self {
            Backend::NovaCanvas => "nova-canvas",
            Backend::VertexVto => "vertex-vto",
            Backend::GeminiImage => "gemini-image",
            Backend::BedrockConverse => "bedrock-converse",
        }
    }

    /// The product name, for messages.
    pub fn title(self) -> &'static str {
        match self {
            Backend::NovaCanvas => "Nova Canvas",
            Backend::VertexVto => "Vertex AI Virtual Try-On",
            Backend::GeminiImage => "Gemini image",
            Backend::BedrockConverse => "Bedrock Converse",
        }
    }

    /// Parses a backend name; the error lists the names there are.
    pub fn parse(name: &str) -> Result<Backend, String> {
        Backend::ALL.into_iter().find(|b| b.name() == name).ok_or_else(|| {
            format!("unknown backend {name:?}; use one of {}", Backend::ALL.map(Backend::name).join(", "))
        })
    }

    /// Whether the backend is told what to do in words (no masks; the instruction is
    /// recorded in `status.json`).
    pub fn prompt_based(self) -> bool {
        matches!(self, Backend::GeminiImage | Backend::BedrockConverse)
    }

    /// The platforms the backend's models are offered on (the catalog's platform tables).
    pub fn platforms(self) -> &'static [Platform] {
        match self {
            Backend::NovaCanvas | Backend::BedrockConverse => &[Platform::Bedrock],
            Backend::VertexVto => &[Platform::VertexAi],
            Backend::GeminiImage => &[Platform::VertexAi, Platform::GeminiApi],
        }
    }

    /// The platform this function calls the backend on.
    pub fn platform(self) -> Platform {
        match self {
            Backend::NovaCanvas | Backend::BedrockConverse => Platform::Bedrock,
            Backend::VertexVto | Backend::GeminiImage => Platform::VertexAi,
        }
    }

    /// Whether the backend calls Google (and so needs Google credentials).
    pub fn google(self) -> bool {
        matches!(self, Backend::VertexVto | Backend::GeminiImage)
    }

    /// The most images one call may ask for (`imageGenerationConfig.numberOfImages`).
    pub fn max_images(self) -> u32 {
        match self {
            Backend::NovaCanvas => 5,
            Backend::VertexVto => 4,
            Backend::GeminiImage | Backend::BedrockConverse => 1,
        }
    }

    /// Whether `imageGenerationConfig.seed` is sent (Converse has no seed).
    pub fn takes_seed(self) -> bool {
        !matches!(self, Backend::BedrockConverse)
    }

    /// Whether a request without `imageGenerationConfig.seed` still has a fixed seed (Nova
    /// Canvas: seed 12 by default), so the same request gets the same answer.
    pub fn default_seed_fixed(self) -> bool {
        matches!(self, Backend::NovaCanvas)
    }

    /// The images the backend accepts; preparation fits every picture to this.
    pub fn canvas(self) -> Canvas {
        match self {
            // The Nova Canvas reference: 320–4096 px a side, under 4,194,304 px, 1:4–4:1,
            // the whole body under 25 MB.
            Backend::NovaCanvas => Canvas {
                min_side: 320,
                max_side: 4096,
                max_pixels: 4_194_304 - 1,
                max_aspect: 4,
                max_image_bytes: 25_000_000,
            },
            // Google documents no pixel limits for Virtual Try-On, only 7 MB per inline
            // image; the output takes the input's size, so Nova's pixel cap keeps outputs
            // (and the memory they take) where they have always been.
            Backend::VertexVto => Canvas {
                min_side: 64,
                max_side: 4096,
                max_pixels: 4_194_304 - 1,
                max_aspect: 4,
                max_image_bytes: 7_000_000,
            },
            // Gemini bills a fixed number of tokens per input image whatever its size and
            // answers at most 2K: larger inputs would only cost upload time.
            Backend::GeminiImage => Canvas {
                min_side: 64,
                max_side: 2048,
                max_pixels: 2048 * 2048,
                max_aspect: 4,
                max_image_bytes: 7_000_000,
            },
            // Converse: 3.75 MB and 8000 px per image; Nova 2 Omni's editing samples work
            // at about one megapixel.
            Backend::BedrockConverse => Canvas {
                min_side: 64,
                max_side: 2048,
                max_pixels: 1024 * 1024,
                max_aspect: 4,
                max_image_bytes: 3_750_000,
            },
        }
    }
}

/// The backends a deployment offers: the chain a manifest gets when it names none
/// (`TRYON_BACKEND`, tried in order) and every one a manifest may name (`ENABLED_BACKENDS`
/// and the chain's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backends {
    pub chain: Vec<Backend>,
    pub enabled: Vec<Backend>,
}

impl Backends {
    /// Only `b`, as a deployment that enables nothing else.
    pub fn only(b: Backend) -> Self {
        Backends { chain: vec![b], enabled: vec![b] }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a model is offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Platform {
    Bedrock,
    VertexAi,
    GeminiApi,
    Fashn,
}

impl Platform {
    pub const ALL: [Platform; 4] = [Platform::Bedrock, Platform::VertexAi, Platform::GeminiApi, Platform::Fashn];

    pub fn name(self) -> &'static str {
        match self {
            Platform::Bedrock => "bedrock",
            Platform::VertexAi => "vertex-ai",
            Platform::GeminiApi => "gemini-api",
            Platform::Fashn => "fashn",
        }
    }

    pub fn parse(s: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.name() == s)
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The pictures a backend accepts: every request image is laid out within these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Canvas {
    pub min_side: u32,
    pub max_side: u32,
    pub max_pixels: u64,
    /// The long side is at most this many times the short side (thinner pictures are
    /// padded with white).
    pub max_aspect: u32,
    /// The largest encoded image (for Nova Canvas, the whole body's cap).
    pub max_image_bytes: usize,
}

impl Canvas {
    /// What every one of `canvases` accepts: a source prepared once for a job whose variants
    /// call several backends fits all of them.
    pub fn common(canvases: impl IntoIterator<Item = Canvas>) -> Canvas {
        canvases
            .into_iter()
            .reduce(|a, b| Canvas {
                min_side: a.min_side.max(b.min_side),
                max_side: a.max_side.min(b.max_side),
                max_pixels: a.max_pixels.min(b.max_pixels),
                max_aspect: a.max_aspect.min(b.max_aspect),
                max_image_bytes: a.max_image_bytes.min(b.max_image_bytes),
            })
            .unwrap_or(Backend::NovaCanvas.canvas())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_choices() {
        for b in Backend::ALL {
            assert_eq!(Backend::parse(b.name()), Ok(b));
            assert_eq!(serde_json::to_value(b).unwrap(), b.name());
        }
        let e = Backend::parse("dall-e").unwrap_err();
        assert!(e.contains("nova-canvas, vertex-vto, gemini-image, bedrock-converse"), "{e}");
    }

    #[test]
    fn every_canvas_can_hold_a_picture_and_the_common_one_fits_all() {
        for b in Backend::ALL {
            let c = b.canvas();
            assert!(c.min_side * c.max_aspect <= c.max_side, "{b}");
            assert!((c.min_side as u64 * c.min_side as u64 * c.max_aspect as u64) <= c.max_pixels, "{b}");
        }
        let all = Canvas::common(Backend::ALL.map(Backend::canvas));
        assert_eq!((all.min_side, all.max_side, all.max_pixels), (320, 2048, 1024 * 1024));
        assert!(all.min_side * all.max_aspect <= all.max_side);
        assert_eq!(Canvas::common([Backend::VertexVto.canvas()]), Backend::VertexVto.canvas());
    }
}
