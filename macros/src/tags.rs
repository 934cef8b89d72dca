//! `tags! { .. }`: each declaration `attrs vis key: Type (= "wire.name")?` becomes an uninhabited
//! enum named `key` (type namespace only, so a local or parameter with the same name never clashes)
//! implementing `TagKey` with its value type and wire name.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Ident, Lifetime, LitStr, Token, Type, Visibility};

use crate::errors::Errors;
use crate::list;

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let parsed = list::parse(input, "tag declarations", &mut errors, |input, _| input.parse::<TagDecl>().map(Some));
    let mut declarations: Vec<TagDecl> = Vec::with_capacity(parsed.len());
    let mut wire_names: Vec<String> = Vec::new();
    for mut declaration in parsed {
        let TagDecl { ident, wire, ty, .. } = &mut declaration;
        if declarations.iter().any(|declared| declared.ident.unraw() == ident.unraw()) {
            errors.push(syn::Error::new(
                ident.span(),
                format!("the tag `{ident}` is declared twice; declare each key once"),
            ));
            continue;
        }
        if let Some(wire) = wire {
            let value = wire.value();
            if value.is_empty() {
                errors.push(syn::Error::new(wire.span(), "the wire name must not be empty, e.g. `= \"http.route\"`"));
            } else if wire_names.contains(&value) {
                errors.push(syn::Error::new(
                    wire.span(),
                    format!("wire name \"{value}\" is already used by another tag"),
                ));
            }
            wire_names.push(value);
        }
        if let Type::Reference(reference) = ty {
            if reference.lifetime.is_none() {
                errors.push(syn::Error::new_spanned(
                    &*reference,
                    "a tag value that borrows must be `'static`, e.g. `&'static str`; use `String` for values built at run time",
                ));
                // Expand as if `'static` was written, so rustc adds no error of its own.
                reference.lifetime = Some(Lifetime::new("'static", reference.and_token.span));
            }
        }
        declarations.push(declaration);
    }
    errors.emit(declarations.iter().map(TagDecl::generate).collect())
}

/// `/// doc \n pub route: &'static str = "http.route"`.
struct TagDecl {
    attrs: Vec<Attribute>,
    vis: Visibility,
    ident: Ident,
    ty: Type,
    wire: Option<LitStr>,
}

impl Parse for TagDecl {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        if !input.peek(Ident) {
            if input.peek(Ident::peek_any) {
                let keyword = input.call(Ident::parse_any)?;
                return Err(syn::Error::new(
                    keyword.span(),
                    format!("`{keyword}` is a keyword: declare the tag as `r#{keyword}`; its wire name is still \"{keyword}\""),
                ));
            }
            return Err(syn::Error::new_spanned(
                list::item_tokens(input),
                "a tag is declared `name: Type`, e.g. `pub route: &'static str = \"http.route\"`",
            ));
        }
        let ident: Ident = input.parse()?;
        if !input.peek(Token![:]) || input.peek(Token![::]) {
            return Err(syn::Error::new(
                ident.span(),
                format!("the tag `{ident}` needs a value type, e.g. `{ident}: &'static str` or `{ident}: String`"),
            ));
        }
        input.parse::<Token![:]>()?;
        if let Ok(wire) = input.fork().parse::<LitStr>() {
            return Err(syn::Error::new(
                wire.span(),
                format!(
                    "the tag `{ident}` needs a value type before its wire name, e.g. `{ident}: &'static str = {}`",
                    wire.token()
                ),
            ));
        }
        let ty = input.parse()?;
        let wire = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            if !input.peek(LitStr) {
                return Err(input.error(format!(
                    "the wire name of `{ident}` must be a string literal, e.g. `{ident}: String = \"http.{ident}\"`"
                )));
            }
            Some(input.parse()?)
        } else {
            None
        };
        Ok(TagDecl { attrs, vis, ident, ty, wire })
    }
}

impl TagDecl {
    fn generate(&self) -> TokenStream {
        let TagDecl { attrs, vis, ident, ty, wire } = self;
        let name = ident.unraw().to_string();
        let wire = wire.as_ref().map_or_else(|| quote!(#name), |wire| quote!(#wire));
        quote! {
            #(#attrs)*
            #[allow(non_camel_case_types)]
            #[derive(Debug)]
            #vis enum #ident {}

            impl ::spanscope::__private::TagKey for #ident {
                type Value = #ty;
                fn meta() -> &'static ::spanscope::__private::TagMeta {
                    static META: ::spanscope::__private::TagMeta =
                        ::spanscope::__private::TagMeta::new(#name, #wire);
                    &META
                }
            }
        }
    }
}
