//! Inputs a plugin declares sensitive: the host records them in statements as digests and masks
//! their values in everything the step writes, as it does for secrets.
//!
//! Contract 0.1 has no field for it in `input-spec`, so the declaration travels in the component:
//! a custom section [`SECTION`] of input names, one per line, which the Rust SDK's
//! `#[input(sensitive)]` writes into the plugin's core module. A plugin can only widen what is
//! masked and digested with it, never narrow it; the section is plugin-written, so it is read with
//! limits and refused when malformed.

use wasmparser::{Chunk, Parser, Payload};

/// The custom section's name.
pub const SECTION: &str = "tollgate:sensitive-inputs";
/// Most names a component may declare.
const MAX_NAMES: usize = 64;
/// Longest name.
const MAX_NAME: usize = 64;
/// Deepest nesting of components and modules searched.
const MAX_DEPTH: usize = 8;

/// The input names a component declares sensitive, sorted and deduplicated. Only section headers
/// are read (code is skipped), so this costs little even for a large component.
pub fn declared(bytes: &[u8]) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    scan(Parser::new(0), bytes, 0..bytes.len(), 0, &mut names)?;
    names.sort();
    names.dedup();
    Ok(names)
}

/// Scan `bytes[window]` (offsets are absolute, as the parser reports them) and what it nests.
fn scan(
    mut parser: Parser,
    bytes: &[u8],
    window: std::ops::Range<usize>,
    depth: usize,
    names: &mut Vec<String>,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("components nest deeper than {MAX_DEPTH}"));
    }
    let mut offset = window.start;
    loop {
        let (consumed, payload) = match parser
            .parse(&bytes[offset..window.end], true)
            .map_err(|e| e.to_string())?
        {
            Chunk::Parsed { consumed, payload } => (consumed, payload),
            Chunk::NeedMoreData(_) => return Err("it ends in the middle of a section".into()),
        };
        offset += consumed;
        match payload {
            Payload::CustomSection(reader) if reader.name() == SECTION => read_names(reader.data(), names)?,
            Payload::ModuleSection {
                parser: inner,
                unchecked_range: range,
            }
            | Payload::ComponentSection {
                parser: inner,
                unchecked_range: range,
            } => {
                if range.end > window.end {
                    return Err("a nested module runs past the end of its component".into());
                }
                scan(inner, bytes, range.clone(), depth + 1, names)?;
                offset = range.end;
            }
            Payload::CodeSectionStart { size, .. } => {
                parser.skip_section();
                offset += usize::try_from(size).map_err(|e| e.to_string())?;
            }
            Payload::End(_) => return Ok(()),
            _ => {}
        }
    }
}

/// One section's names (several sections are concatenated by the linker: all are read).
fn read_names(data: &[u8], names: &mut Vec<String>) -> Result<(), String> {
    let text = std::str::from_utf8(data).map_err(|_| format!("its `{SECTION}` section is not UTF-8"))?;
    for name in text.split('\n').filter(|n| !n.is_empty()) {
        let valid = name.len() <= MAX_NAME
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !valid {
            return Err(format!(
                "its `{SECTION}` section names `{}`, which is not an input name",
                name.chars().take(MAX_NAME).collect::<String>().escape_debug()
            ));
        }
        if names.len() == MAX_NAMES {
            return Err(format!("it declares more than {MAX_NAMES} sensitive inputs"));
        }
        names.push(name.to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A core module with these custom sections, as a component's nested module would hold them.
    fn module(sections: &[(&str, &[u8])]) -> Vec<u8> {
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        for (name, data) in sections {
            let mut body = vec![u8::try_from(name.len()).unwrap()];
            body.extend_from_slice(name.as_bytes());
            body.extend_from_slice(data);
            wasm.push(0);
            // The section's size, LEB128.
            let mut size = body.len();
            loop {
                let byte = u8::try_from(size & 0x7f).unwrap();
                size >>= 7;
                wasm.push(if size == 0 { byte } else { byte | 0x80 });
                if size == 0 {
                    break;
                }
            }
            wasm.extend(body);
        }
        wasm
    }

    #[test]
    fn names_from_every_section_are_read_once() {
        let wasm = module(&[(SECTION, b"token\npassword\n"), ("other", b"x"), (SECTION, b"token\n")]);
        assert_eq!(declared(&wasm).unwrap(), ["password", "token"]);
        assert_eq!(declared(&module(&[])).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn a_malformed_declaration_is_refused_not_trusted() {
        for (data, says) in [
            (&b"Token\n"[..], "not an input name"),
            (&b"a b\n"[..], "not an input name"),
            (&b"\xff\n"[..], "not UTF-8"),
        ] {
            let e = declared(&module(&[(SECTION, data)])).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
        let many: String = (0..=MAX_NAMES).map(|i| format!("n{i}\n")).collect();
        let e = declared(&module(&[(SECTION, many.as_bytes())])).unwrap_err();
        assert!(e.contains("more than 64"), "{e}");
    }
}
