//! Images: untrusted upload bytes in, what Nova Canvas accepts out; the model's outputs back
//! to what the job promised. Pure and synchronous.
//!
//! One room per job; each imports only rooms above it in this list, so there are no import
//! circles (a test below checks):
//!
//! | room | its job | imports |
//! | --- | --- | --- |
//! | [`format`](mod@format) | sniffing the upload's format; `InputFormat`, `Encoding` | |
//! | [`headers`] | what a JPEG or WebP container declares, read from its bytes | |
//! | [`geometry`] | the canvas `Layout` and `Rect`, fitting into a box, white padding | |
//! | [`orient`] | EXIF orientation: RGB pictures and single planes turned upright | |
//! | [`colour`] | ICC profile → sRGB | |
//! | [`resize`] | banded resizing of pictures and planes | |
//! | [`jpeg`] | libjpeg-turbo: headers, RGB and 4:2:0 planes in and out | |
//! | [`planes`] | the 4:2:0 route: planes resized, placed and turned upright | jpeg, orient, resize |
//! | [`probe`] | headers read with every limit and the memory budget; `InputInfo` | format, headers, jpeg, orient |
//! | [`decode`] | pixels as 8-bit RGB on white | jpeg, probe |
//! | [`prepare`](mod@prepare) | the pipeline for sources and garments; `Prepared`, `Chroma` | colour, decode, geometry, jpeg, orient, planes, probe, resize |
//! | [`mask`] | `imageBasedMask` uploads as black/white masks on the canvas | decode, geometry, orient, probe, resize |
//! | [`encode`](mod@encode) | request and output encodings (JPEG, PNG) | format, jpeg, prepare |
//! | [`output`] | model outputs cropped back to the picture | encode, geometry |
//! | [`preview`](mod@preview) | the picture part of a canvas scaled into a box | geometry |
//!
//! Outside this folder the rooms use [`crate::core::limits`] (fixed limits), [`crate::core::budget`] (the
//! memory budget), [`crate::config`] and [`crate::core::error`]; none of those imports an image room.
//! Inside the crate, `crate::core::image` is this module and a bare `image::` is the `image` crate.

pub mod colour;
pub mod decode;
pub mod encode;
pub mod format;
pub mod geometry;
pub mod headers;
pub mod jpeg;
pub mod mask;
pub mod orient;
pub mod output;
pub mod planes;
pub mod prepare;
pub mod preview;
pub mod probe;
pub mod resize;

pub use encode::{encode, encode_png_rgb, encode_prepared, encode_with, JPEG_QUALITY};
pub use format::{sniff, Encoding, InputFormat};
pub use geometry::{fit_in_box, layout, Layout, Rect};
pub use mask::prepare_mask;
pub use output::finish_output;
pub use prepare::{prepare, prepare_with, Chroma, Prepared};
pub use preview::preview;
pub use probe::InputInfo;

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    /// The rooms each room's code (its tests aside) imports: every `super::` and
    /// `crate::core::image::` path, braces included. A name that is not a room is something
    /// re-exported here, which would import this module back: it counts as `mod`.
    fn imports() -> BTreeMap<String, BTreeSet<String>> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/core/image");
        let mut files: BTreeMap<String, String> = BTreeMap::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let room = path.file_stem().unwrap().to_string_lossy().into_owned();
            files.insert(room, std::fs::read_to_string(&path).unwrap());
        }
        let rooms: BTreeSet<String> = files.keys().filter(|r| *r != "mod").cloned().collect();
        let mut graph = BTreeMap::new();
        for (room, text) in &files {
            let code = text.split("#[cfg(test)]").next().unwrap();
            let code: String =
                code.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
            let mut used = BTreeSet::new();
            for prefix in ["super::", "crate::core::image::"] {
                for (at, _) in code.match_indices(prefix) {
                    for name in first_segments(&code[at + prefix.len()..]) {
                        used.insert(if rooms.contains(&name) { name } else { "mod".to_owned() });
                    }
                }
            }
            graph.insert(room.clone(), used);
        }
        // This module re-exports from every room.
        graph.insert("mod".to_owned(), rooms);
        graph
    }

    /// The first path segment after a prefix: `a::…` gives `a`, `{a::…, b, c::{…}}` gives
    /// `a`, `b` and `c`.
    fn first_segments(rest: &str) -> Vec<String> {
        let ident = |s: &str| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
        let Some(group) = rest.strip_prefix('{') else { return vec![ident(rest)] };
        let (mut names, mut depth, mut start) = (vec![], 0, true);
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => start = true,
                c if start && !c.is_whitespace() => {
                    names.push(ident(&group[i..]));
                    start = false;
                }
                _ => {}
            }
        }
        names
    }

    /// A path of imports that comes back to where it started, if there is one.
    fn circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<String> {
        fn visit<'a>(
            room: &'a str,
            graph: &'a BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<&'a str>,
            done: &mut BTreeSet<&'a str>,
        ) -> Option<String> {
            if let Some(at) = path.iter().position(|r| *r == room) {
                return Some([&path[at..], &[room]].concat().join(" → "));
            }
            if !done.insert(room) {
                return None;
            }
            path.push(room);
            let found = graph.get(room).into_iter().flatten().find_map(|next| visit(next, graph, path, done));
            path.pop();
            found
        }
        let mut done = BTreeSet::new();
        graph.keys().find_map(|room| visit(room, graph, &mut vec![], &mut done))
    }

    #[test]
    fn no_room_imports_one_that_imports_it_back() {
        let graph = imports();
        assert!(graph["prepare"].contains("probe") && graph["planes"].contains("jpeg"), "{graph:?}");
        if let Some(circle) = circle(&graph) {
            panic!("import circle among the image rooms: {circle}");
        }
    }

    #[test]
    fn the_circle_check_finds_circles() {
        assert_eq!(first_segments("{jpeg::{self, Header}, orient::Map, resize}"), ["jpeg", "orient", "resize"]);
        assert_eq!(first_segments("probe::{probe, InputInfo};"), ["probe"]);
        let graph = |edges: &[(&str, &str)]| {
            let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for (a, b) in edges {
                g.entry(a.to_string()).or_default().insert(b.to_string());
            }
            g
        };
        assert_eq!(circle(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])), None);
        assert_eq!(circle(&graph(&[("a", "b"), ("b", "c"), ("c", "a")])).as_deref(), Some("a → b → c → a"));
        // A room importing what this module re-exports imports this module back.
        assert_eq!(circle(&graph(&[("mod", "a"), ("a", "mod")])).as_deref(), Some("a → mod → a"));
    }
}
