//! "Did you mean": which known name a misspelt one most likely stands for.

/// Whether `written` is most likely a misspelling of `known`: at most two edits away ignoring case
/// (`peeer`, `tag`, `NAME`), or one containing the other (`service_name`, `threads`).
pub(crate) fn is_misspelling(written: &str, known: &str) -> bool {
    let (written, known) = (written.to_lowercase(), known.to_lowercase());
    let contains = |long: &str, short: &str| short.len() >= 4 && long.contains(short);
    edit_distance(&written, &known) <= 2 || contains(&written, &known) || contains(&known, &written)
}

/// The Levenshtein distance between `a` and `b`: how many characters to insert, delete or replace.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, a) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &b) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(a != b)).min(above + 1).min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}
