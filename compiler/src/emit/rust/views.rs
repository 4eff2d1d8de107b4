//! Borrowed views of a product's messages, read straight from the wire
//! (`manifold_runtime::wire`): what the staging builders decode payloads
//! with. A view has the field names of prost's struct, and field types that
//! read the same way (`Option<WireStr>` where prost has `Option<String>`), so
//! the expressions that fill the builders (`mapping::leaves`) serve both; the
//! prost path stays as the reference the views are tested against.

use proc_macro2::TokenStream;
use quote::quote;

use super::mapping::{field_ident, type_ident};
use crate::lock::{Lock, LockedField};
use crate::model::{Field, Model, Product, Scalar, StructId, Type};

/// How a (non-array) field's value is read.
enum Kind {
    Str,
    Bool,
    Int32,
    Int64,
    Double,
    /// A nested message, with its view type.
    Message(TokenStream),
}

fn kind(model: &Model, ty: &Type) -> Kind {
    match ty {
        Type::Scalar(Scalar::String | Scalar::Json | Scalar::Date) => Kind::Str,
        Type::Scalar(Scalar::Boolean) => Kind::Bool,
        Type::Scalar(Scalar::Int) | Type::Enum(_) => Kind::Int32,
        Type::Scalar(Scalar::Long) => Kind::Int64,
        Type::Scalar(Scalar::Double) => Kind::Double,
        Type::Scalar(Scalar::Timestamp) => Kind::Message(quote! { rt::TimestampView<'a> }),
        Type::Scalar(Scalar::Ari) => Kind::Message(quote! { rt::AriView<'a> }),
        Type::Struct(id) => {
            let name = type_ident(&model.strukt(*id).name);
            Kind::Message(quote! { #name<'a> })
        }
        // A relation is carried as the parent's key (a string without one), as
        // in the protos.
        Type::Relation(parent) => {
            let parent = model.entity(*parent);
            parent.fields.get(parent.key).map_or(Kind::Str, |key| kind(model, &key.ty))
        }
        Type::Array(inner) => kind(model, inner),
    }
}

/// A view's field declaration and its `match` arm.
fn field(model: &Model, f: &Field, number: u32) -> (TokenStream, TokenStream) {
    let fi = field_ident(f);
    let number = proc_macro2::Literal::u32_unsuffixed(number);
    let (repeated, ty) = match &f.ty {
        Type::Array(inner) => (true, &**inner),
        other => (false, other),
    };
    let scalar = |ty: TokenStream, read: TokenStream, element: TokenStream| {
        if repeated {
            (
                quote! { pub #fi: ::std::vec::Vec<#ty> },
                quote! { #number => r.repeated(wire, rt::WireType::#element, &mut self.#fi, rt::Reader::#read)?, },
            )
        } else {
            (
                quote! { pub #fi: ::core::option::Option<#ty> },
                quote! { #number => self.#fi = ::core::option::Option::Some(r.#read(wire)?), },
            )
        }
    };
    match kind(model, ty) {
        Kind::Str if repeated => (
            quote! { pub #fi: ::std::vec::Vec<rt::WireStr<'a>> },
            quote! { #number => r.repeated_string(wire, &mut self.#fi)?, },
        ),
        Kind::Str => (
            quote! { pub #fi: ::core::option::Option<rt::WireStr<'a>> },
            quote! { #number => self.#fi = ::core::option::Option::Some(r.string(wire)?), },
        ),
        Kind::Bool => scalar(quote! { bool }, quote! { bool }, quote! { Varint }),
        Kind::Int32 => scalar(quote! { i32 }, quote! { int32 }, quote! { Varint }),
        Kind::Int64 => scalar(quote! { i64 }, quote! { int64 }, quote! { Varint }),
        Kind::Double => scalar(quote! { f64 }, quote! { double }, quote! { Fixed64 }),
        Kind::Message(view) if repeated => (
            quote! { pub #fi: ::std::vec::Vec<#view> },
            quote! { #number => r.repeated_message(wire, &mut self.#fi)?, },
        ),
        Kind::Message(view) => (
            quote! { pub #fi: ::core::option::Option<#view> },
            quote! { #number => r.message(wire, self.#fi.get_or_insert_with(::core::default::Default::default))?, },
        ),
    }
}

/// One message's view: a struct and its `View` impl.
fn view<'l>(
    model: &Model,
    name: &str,
    fields: &[Field],
    locked: impl Fn(&Field) -> Option<&'l LockedField>,
) -> TokenStream {
    let name = type_ident(name);
    let (decls, arms): (Vec<TokenStream>, Vec<TokenStream>) =
        fields.iter().map(|f| field(model, f, locked(f).expect("lock::assign numbers every field").number)).unzip();
    quote! {
        #[derive(Default)]
        pub struct #name<'a> {
            #(#decls,)*
            _buf: ::core::marker::PhantomData<&'a ()>,
        }

        impl<'a> rt::View<'a> for #name<'a> {
            fn field(&mut self, tag: u32, wire: rt::WireType, r: &mut rt::Reader<'a>) -> rt::Result<()> {
                match tag {
                    #(#arms)*
                    _ => r.skip(wire, tag)?,
                }
                ::core::result::Result::Ok(())
            }
        }
    }
}

/// The `views` module of a product: a view per entity and per struct.
pub fn module(model: &Model, lock: &Lock, p: &Product, product: crate::model::ProductId) -> TokenStream {
    let entities = p.entities.iter().map(|e| {
        let locked = lock.entity(&e.name).expect("lock::assign numbers every entity");
        view(model, &e.name, &e.fields, |f| locked.field(&f.name))
    });
    let structs = (0..p.structs.len()).map(|i| {
        let s = model.strukt(StructId(product, i as u32));
        let locked = lock.strukt(&p.name, &s.name).expect("lock::assign numbers every struct");
        view(model, &s.name, &s.fields, |f| locked.field(&f.name))
    });
    quote! {
        /// Views of the product's messages read straight from the wire (see
        /// `manifold_runtime::wire`): field names as in the prost structs.
        pub mod views {
            // Every other name is a path: the views are named after the
            // schema's types, which may be `Vec`, `Option` or `Result`.
            use ::manifold_runtime::wire as rt;

            #(#entities)*
            #(#structs)*
        }
    }
}
