//! `#[profiled(k = v, ..)]`: the tags are pushed onto the thread's profiler tag state while the body
//! runs (sync: a guard on the stack; async: around every poll), so every CPU sample carries them.

use proc_macro2::TokenStream;
use quote::quote;

use crate::args::{Macro, ProfiledArgs};
use crate::body::{self, Kind};
use crate::function;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    function::expand(Macro::Profiled, args, item, ProfiledArgs::parse, |args, function, _| {
        let tags = args.tags.iter().map(|tag| {
            let (key, value) = (tag.key(), &tag.value);
            quote!(<#key as ::spanscope::__private::TagKey>::__tag(#value))
        });
        let set = quote!(::spanscope::__private::TagSet::new([#(#tags),*]));
        body::instrument(&function, |body| match body.kind {
            Kind::Sync => {
                let tokens = &body.tokens;
                quote! {
                    let __spanscope_tags = #set;
                    let __spanscope_tags_guard = __spanscope_tags.push();
                    #tokens
                }
            }
            Kind::Async => {
                let future = body.future();
                body.result(quote!(::spanscope::__private::WithTags::new(#set, #future).await))
            }
        })
    })
}
