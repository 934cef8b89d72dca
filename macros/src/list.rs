//! Comma-separated lists (attribute arguments, tags, `tags!` declarations) parsed one item at a
//! time: an item that is wrong is reported and skipped up to the next `,`, so the items around
//! it still expand and every mistake in the list is reported at once.

use proc_macro2::{TokenStream, TokenTree};
use syn::buffer::Cursor;
use syn::parse::{ParseStream, Parser};
use syn::Token;

use crate::errors::Errors;

/// Parses `tokens` with `item` for each item. An `Err` from `item` is reported and the rest of
/// that item skipped. After an item, a `;` or nothing where the `,` belongs is reported ("expected
/// `,` between {items}") and the next item parsed as if the `,` was there.
pub(crate) fn parse<T>(
    tokens: TokenStream,
    items: &str,
    errors: &mut Errors,
    mut item: impl FnMut(ParseStream<'_>, &mut Errors) -> syn::Result<Option<T>>,
) -> Vec<T> {
    let parser = |input: ParseStream<'_>| {
        let mut parsed = Vec::new();
        while !input.is_empty() {
            match item(input, errors) {
                Ok(value) => parsed.extend(value),
                Err(error) => {
                    errors.push(error);
                    skip_item(input)?;
                }
            }
            if input.parse::<Option<Token![,]>>()?.is_none() && !input.is_empty() {
                errors.push(input.error(format!("expected `,` between {items}")));
                input.parse::<Option<Token![;]>>()?;
            }
        }
        Ok(parsed)
    };
    // The parser consumes only tokens it has peeked at, so it cannot fail.
    parser.parse2(tokens).unwrap_or_default()
}

/// Whether the item ends here: the input is at its end or at the `,` before the next item.
pub(crate) fn at_end(input: ParseStream<'_>) -> bool {
    input.is_empty() || input.peek(Token![,])
}

/// The tokens of the item at `input`, up to the next `,` outside brackets; nothing is consumed.
/// Errors about the whole item are spanned by them.
pub(crate) fn item_tokens(input: ParseStream<'_>) -> TokenStream {
    split_item(input.cursor()).0
}

/// Consumes the rest of the item at `input`, up to the next `,` outside brackets.
pub(crate) fn skip_item(input: ParseStream<'_>) -> syn::Result<()> {
    input.step(|cursor| Ok(((), split_item(*cursor).1)))
}

/// The tokens from `cursor` up to the next `,` outside brackets, and the cursor at that `,`.
fn split_item(mut cursor: Cursor<'_>) -> (TokenStream, Cursor<'_>) {
    let mut tokens = TokenStream::new();
    while let Some((tree, next)) = cursor.token_tree() {
        if matches!(&tree, TokenTree::Punct(punct) if punct.as_char() == ',') {
            break;
        }
        tokens.extend([tree]);
        cursor = next;
    }
    (tokens, cursor)
}
