//! The fenced code blocks of a Markdown file (indented fences inside list items included).

/// One fenced block.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    /// The info string after the opening fence (`sh`, `toml`, …).
    pub(crate) lang: String,
    /// The body, with the fence's indentation removed from every line.
    pub(crate) text: String,
    /// The 1-based line of the opening fence.
    pub(crate) line: usize,
}

/// Every ```` ``` ```` block of `markdown`, in order. Panics on a fence that is never
/// closed (the README would render wrongly too).
pub(crate) fn fenced(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<(Block, usize)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim_start();
        match open.take() {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let block = Block {
                        lang: info.trim().to_owned(),
                        text: String::new(),
                        line: i + 1,
                    };
                    open = Some((block, indent));
                }
            }
            Some((mut block, fence_indent)) => {
                if trimmed.starts_with("```") {
                    blocks.push(block);
                } else {
                    let body = line.get(fence_indent.min(indent)..).unwrap_or("");
                    block.text.push_str(body);
                    block.text.push('\n');
                    open = Some((block, fence_indent));
                }
            }
        }
    }
    if let Some((block, _)) = open {
        panic!("the block opened on line {} is never closed", block.line);
    }
    blocks
}

#[test]
fn fences_in_list_items_lose_their_indentation() {
    let md = "a\n```sh\necho 1\n```\n- item\n\n  ```toml\n  x = 1\n    y = 2\n  ```\n";
    let blocks = fenced(md);
    assert_eq!(blocks.len(), 2, "{blocks:?}");
    assert_eq!(
        (blocks[0].lang.as_str(), blocks[0].text.as_str()),
        ("sh", "echo 1\n")
    );
    assert_eq!(blocks[1].text, "x = 1\n  y = 2\n");
    assert_eq!(blocks[1].line, 7);
}
