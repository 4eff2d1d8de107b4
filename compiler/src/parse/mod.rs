//! Parse: TypeScript text → [`Syntax`], with swc.
//!
//! This is the only module that knows swc. It never fails: a file with syntax errors
//! yields `M001` diagnostics and whatever declarations could be recovered. Checks
//! that need no context beyond one declaration (unsupported top-level statements,
//! members and generic interfaces) are reported here; everything that needs names
//! resolved is the resolver's job.

mod jsdoc;
pub mod syntax;

use rayon::prelude::*;
use swc_common::comments::{CommentKind, Comments, SingleThreadedComments};
use swc_common::sync::Lrc;
use swc_common::{BytePos, FileName, SourceMap, Spanned};
use swc_ecma_ast as ast;
use swc_ecma_parser::{Parser, StringInput, Syntax as SwcSyntax, TsSyntax, lexer::Lexer};

pub use syntax::*;

use crate::diag::{Diagnostic, Diagnostics, codes};
use crate::source::{FileId, SourceDb, Span};

/// Parses the given files of `db`. `base` is the file with the base declarations,
/// which may use constructs (type aliases) that product files may not.
pub fn parse(db: &SourceDb, files: &[FileId], base: Option<FileId>) -> (Syntax, Diagnostics) {
    // Files parse independently, on every core; diagnostics keep the files' order.
    let parsed: Vec<(FileSyntax, Diagnostics)> = files
        .par_iter()
        .map(|&id| {
            let mut diags = Diagnostics::new();
            let syntax = parse_file(db, id, Some(id) == base, &mut diags);
            (syntax, diags)
        })
        .collect();
    let mut diags = Diagnostics::new();
    let mut files = Vec::with_capacity(parsed.len());
    for (syntax, d) in parsed {
        files.push(syntax);
        diags.extend(d);
    }
    (Syntax { files }, diags)
}

struct FileParser<'a> {
    file: FileId,
    start: BytePos,
    text_len: u32,
    comments: &'a SingleThreadedComments,
    is_base: bool,
    diags: &'a mut Diagnostics,
}

fn parse_file(db: &SourceDb, file: FileId, is_base: bool, diags: &mut Diagnostics) -> FileSyntax {
    let src = db.get(file);
    let comments = SingleThreadedComments::default();
    let (start, parsed) = run_swc(&src.path, &src.text, Some(&comments));
    let mut p = FileParser { file, start, text_len: src.text.len() as u32, comments: &comments, is_base, diags };
    let mut out = FileSyntax {
        file,
        imports: Vec::new(),
        interfaces: Vec::new(),
        enums: Vec::new(),
        type_aliases: Vec::new(),
        unsupported: Vec::new(),
    };
    let Some((result, errors)) = parsed else {
        p.diags.push(
            Diagnostic::error(codes::M001, "the TypeScript parser failed on this file")
                .primary(Span::new(file, 0, 0), "in this file")
                .help("`tsc --noEmit` shows where the syntax is broken; please report the file to the Manifold team"),
        );
        return out;
    };
    for e in errors {
        p.syntax_error(&e, start);
    }
    match result {
        Ok(module) => {
            for item in &module.body {
                p.item(item, &mut out);
            }
        }
        Err(e) => {
            // After a failed `export interface`, swc backtracks and blames the
            // `interface` keyword. Parsing the same text with every `export` blanked
            // out (offsets unchanged) finds the real place; keep the later error.
            let blanked = blank_exports(&src.text);
            match run_swc(&src.path, &blanked, None) {
                (start2, Some((Err(e2), _))) if e2.span().lo.0 - start2.0 > e.span().lo.0 - start.0 => {
                    p.syntax_error(&e2, start2)
                }
                _ => p.syntax_error(&e, start),
            }
        }
    }
    out
}

type SwcResult = (Result<ast::Module, swc_ecma_parser::error::Error>, Vec<swc_ecma_parser::error::Error>);

/// Parses `text` with swc. `None` if swc panicked: swc is not supposed to, but the
/// front end must never panic whatever the input.
fn run_swc(path: &str, text: &str, comments: Option<&SingleThreadedComments>) -> (BytePos, Option<SwcResult>) {
    let cm: Lrc<SourceMap> = Default::default();
    let fm = cm.new_source_file(Lrc::new(FileName::Custom(path.to_string())), text.to_string());
    let comments = comments.map(|c| c as &dyn Comments);
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let lexer = Lexer::new(
            SwcSyntax::Typescript(TsSyntax::default()),
            Default::default(),
            StringInput::from(&*fm),
            comments,
        );
        let mut parser = Parser::new_from(lexer);
        let result = parser.parse_module();
        (result, parser.take_errors())
    }));
    (fm.start_pos, parsed.ok())
}

/// `text` with every `export` keyword replaced by spaces (same byte offsets).
fn blank_exports(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = text.to_string();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'$';
    for (i, _) in text.match_indices("export") {
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i + 6).copied();
        if !before.is_some_and(is_ident) && !after.is_some_and(is_ident) {
            out.replace_range(i..i + 6, "      ");
        }
    }
    out
}

impl FileParser<'_> {
    fn span(&self, s: swc_common::Span) -> Span {
        let lo = s.lo.0.saturating_sub(self.start.0);
        let hi = s.hi.0.saturating_sub(self.start.0);
        Span::new(self.file, lo, hi)
    }

    fn name(&self, text: &str, s: swc_common::Span) -> Name {
        Name { text: text.to_string(), span: self.span(s) }
    }

    fn syntax_error(&mut self, e: &swc_ecma_parser::error::Error, start: BytePos) {
        let msg = e.kind().msg();
        let lo = e.span().lo.0.saturating_sub(start.0);
        let hi = e.span().hi.0.saturating_sub(start.0);
        // An error "at the end of the file" points at the last character, not past it.
        let (lo, hi) = if lo >= self.text_len { (self.text_len.saturating_sub(1), self.text_len) } else { (lo, hi) };
        // (Rendering and `line_col` snap offsets inside a multi-byte character back to its start.)
        let d = Diagnostic::error(codes::M001, format!("syntax error: {msg}"))
            .primary(Span::new(self.file, lo, hi), msg.to_string())
            .help("schema files are TypeScript: `tsc --noEmit` shows the same error in your editor");
        self.diags.push(d);
    }

    fn unsupported_decl(&mut self, what: &'static str, s: swc_common::Span, out: &mut FileSyntax) {
        let span = self.span(s);
        out.unsupported.push((what, span));
        if !self.is_base {
            self.diags.push(
                Diagnostic::error(codes::M002, format!("{what} is not part of the schema language"))
                    .primary(span, "not allowed in a schema file")
                    .help(
                        "a schema file holds only imports, interfaces (entities, manifests, structs) and string enums",
                    ),
            );
        }
    }

    /// The JSDoc block directly before `pos`, if any.
    fn doc(&self, pos: BytePos) -> Doc {
        let Some(comments) = self.comments.get_leading(pos) else { return Doc::default() };
        let Some(c) = comments.iter().rev().find(|c| c.kind == CommentKind::Block && c.text.starts_with('*')) else {
            return Doc::default();
        };
        let offset = self.span(c.span).start + 2; // after `/*`
        jsdoc::parse(&c.text, offset, self.file)
    }

    fn item(&mut self, item: &ast::ModuleItem, out: &mut FileSyntax) {
        match item {
            ast::ModuleItem::ModuleDecl(decl) => match decl {
                ast::ModuleDecl::Import(i) => self.import(i, out),
                ast::ModuleDecl::ExportDecl(e) => self.decl(&e.decl, true, e.span.lo, out),
                ast::ModuleDecl::ExportNamed(e) => self.unsupported_decl("a re-export", e.span, out),
                ast::ModuleDecl::ExportDefaultDecl(e) => self.unsupported_decl("a default export", e.span, out),
                ast::ModuleDecl::ExportDefaultExpr(e) => self.unsupported_decl("a default export", e.span, out),
                ast::ModuleDecl::ExportAll(e) => self.unsupported_decl("a re-export", e.span, out),
                other => self.unsupported_decl("this module statement", other.span(), out),
            },
            ast::ModuleItem::Stmt(ast::Stmt::Decl(d)) => self.decl(d, false, d.span().lo, out),
            ast::ModuleItem::Stmt(ast::Stmt::Empty(_)) => {}
            ast::ModuleItem::Stmt(s) => self.unsupported_decl("a statement", s.span(), out),
        }
    }

    fn import(&mut self, i: &ast::ImportDecl, out: &mut FileSyntax) {
        let mut names = Vec::new();
        for spec in &i.specifiers {
            match spec {
                ast::ImportSpecifier::Named(n) => {
                    let local = self.name(&n.local.sym, n.local.span);
                    let imported = match &n.imported {
                        Some(ast::ModuleExportName::Ident(id)) => self.name(&id.sym, id.span),
                        Some(ast::ModuleExportName::Str(s)) => self.name(&s.value.to_string_lossy(), s.span),
                        None => local.clone(),
                    };
                    names.push(ImportName { imported, local });
                }
                ast::ImportSpecifier::Default(d) => self.unsupported_decl("a default import", d.span, out),
                ast::ImportSpecifier::Namespace(n) => self.unsupported_decl("a namespace import", n.span, out),
            }
        }
        out.imports.push(Import {
            source: i.src.value.to_string_lossy().into_owned(),
            source_span: self.span(i.src.span),
            names,
        });
    }

    fn decl(&mut self, decl: &ast::Decl, exported: bool, doc_pos: BytePos, out: &mut FileSyntax) {
        match decl {
            ast::Decl::TsInterface(i) => {
                let interface = self.interface(i, exported, doc_pos);
                out.interfaces.push(interface);
            }
            ast::Decl::TsEnum(e) => {
                let e = self.enumeration(e, exported, doc_pos);
                out.enums.push(e);
            }
            ast::Decl::TsTypeAlias(t) => {
                out.type_aliases.push(self.name(&t.id.sym, t.id.span));
                if !self.is_base {
                    self.unsupported_decl("a type alias", t.span, out);
                }
            }
            ast::Decl::Class(c) => self.unsupported_decl("a class", c.class.span, out),
            ast::Decl::Fn(f) => self.unsupported_decl("a function", f.function.span, out),
            ast::Decl::Var(v) => self.unsupported_decl("a variable", v.span, out),
            ast::Decl::Using(u) => self.unsupported_decl("a `using` declaration", u.span, out),
            ast::Decl::TsModule(m) => self.unsupported_decl("a namespace", m.span, out),
        }
    }

    fn interface(&mut self, i: &ast::TsInterfaceDecl, exported: bool, doc_pos: BytePos) -> Interface {
        let name = self.name(&i.id.sym, i.id.span);
        let type_params = i.type_params.as_ref().map(|t| self.span(t.span));
        if let (Some(span), false) = (type_params, self.is_base) {
            self.diags.push(
                Diagnostic::error(codes::M007, format!("interface `{}` is generic", name.text))
                    .primary(span, "type parameters are not supported")
                    .help("declare one struct per concrete shape"),
            );
        }
        let extends = i
            .extends
            .iter()
            .map(|h| {
                let (text, span) = match &*h.expr {
                    ast::Expr::Ident(id) => (id.sym.to_string(), id.span),
                    other => ("".to_string(), other.span()),
                };
                Heritage { name: self.name(&text, span), span: self.span(h.span), has_type_args: h.type_args.is_some() }
            })
            .collect();
        let mut properties = Vec::new();
        let mut unsupported_members = Vec::new();
        for m in &i.body.body {
            match m {
                ast::TsTypeElement::TsPropertySignature(p) => match self.property(p) {
                    Ok(p) => properties.push(p),
                    Err(what) => unsupported_members.push((what, self.span(p.span))),
                },
                ast::TsTypeElement::TsIndexSignature(s) => {
                    unsupported_members.push(("an index signature", self.span(s.span)))
                }
                ast::TsTypeElement::TsMethodSignature(s) => unsupported_members.push(("a method", self.span(s.span))),
                ast::TsTypeElement::TsCallSignatureDecl(s) => {
                    unsupported_members.push(("a call signature", self.span(s.span)))
                }
                ast::TsTypeElement::TsConstructSignatureDecl(s) => {
                    unsupported_members.push(("a construct signature", self.span(s.span)))
                }
                ast::TsTypeElement::TsGetterSignature(s) => unsupported_members.push(("a getter", self.span(s.span))),
                ast::TsTypeElement::TsSetterSignature(s) => unsupported_members.push(("a setter", self.span(s.span))),
            }
        }
        if !self.is_base {
            for (what, span) in &unsupported_members {
                self.diags.push(
                    Diagnostic::error(codes::M008, format!("{what} in interface `{}`", name.text))
                        .primary(*span, "not a plain property")
                        .help("write each field as `name: Type;` or `name?: Type;`"),
                );
            }
        }
        Interface {
            name,
            span: self.span(i.span),
            exported,
            extends,
            type_params,
            type_param_names: i
                .type_params
                .as_ref()
                .map(|t| t.params.iter().map(|p| p.name.sym.to_string()).collect())
                .unwrap_or_default(),
            properties,
            unsupported_members,
            doc: self.doc(doc_pos),
        }
    }

    /// A property with an identifier key; `Err` says what else it is.
    fn property(&mut self, p: &ast::TsPropertySignature) -> Result<Property, &'static str> {
        if p.computed {
            return Err("a computed property name");
        }
        let name = match &*p.key {
            ast::Expr::Ident(id) => self.name(&id.sym, id.span),
            ast::Expr::Lit(ast::Lit::Str(_)) => return Err("a quoted property name"),
            _ => return Err("a non-identifier property name"),
        };
        Ok(Property {
            name,
            span: self.span(p.span),
            optional: p.optional,
            ty: p.type_ann.as_ref().map(|t| self.ty(&t.type_ann)),
            doc: self.doc(p.span.lo),
        })
    }

    fn ty(&self, t: &ast::TsType) -> TypeExpr {
        use ast::TsType as T;
        let span = self.span(t.span());
        match t {
            T::TsTypeRef(r) => {
                let (qualifier, name) = match &r.type_name {
                    ast::TsEntityName::Ident(id) => (None, self.name(&id.sym, id.span)),
                    ast::TsEntityName::TsQualifiedName(q) => {
                        let qualifier = match &q.left {
                            ast::TsEntityName::Ident(id) => Some(self.name(&id.sym, id.span)),
                            ast::TsEntityName::TsQualifiedName(_) => {
                                return TypeExpr::Unsupported { what: "a nested qualified name", span };
                            }
                        };
                        (qualifier, self.name(&q.right.sym, q.right.span))
                    }
                };
                let args =
                    r.type_params.as_ref().map(|p| p.params.iter().map(|a| self.ty(a)).collect()).unwrap_or_default();
                let args_span = r.type_params.as_ref().map(|p| self.span(p.span));
                TypeExpr::Ref { qualifier, name, args, args_span, span }
            }
            T::TsArrayType(a) => TypeExpr::Array { elem: Box::new(self.ty(&a.elem_type)), span },
            T::TsParenthesizedType(p) => self.ty(&p.type_ann),
            T::TsKeywordType(k) => {
                use ast::TsKeywordTypeKind as K;
                let keyword = match k.kind {
                    K::TsStringKeyword => "string",
                    K::TsBooleanKeyword => "boolean",
                    K::TsNumberKeyword => "number",
                    K::TsNullKeyword => "null",
                    K::TsUndefinedKeyword => "undefined",
                    K::TsAnyKeyword => "any",
                    K::TsUnknownKeyword => "unknown",
                    K::TsNeverKeyword => "never",
                    K::TsObjectKeyword => "object",
                    K::TsBigIntKeyword => "bigint",
                    K::TsSymbolKeyword => "symbol",
                    K::TsVoidKeyword => "void",
                    K::TsIntrinsicKeyword => "intrinsic",
                };
                TypeExpr::Keyword { keyword, span }
            }
            T::TsLitType(l) => match &l.lit {
                ast::TsLit::Str(s) => TypeExpr::StringLiteral { value: s.value.to_string_lossy().into_owned(), span },
                ast::TsLit::Tpl(_) => TypeExpr::Unsupported { what: "a template literal type", span },
                _ => TypeExpr::Unsupported { what: "a literal type", span },
            },
            T::TsUnionOrIntersectionType(ast::TsUnionOrIntersectionType::TsUnionType(_)) => TypeExpr::Union { span },
            T::TsUnionOrIntersectionType(ast::TsUnionOrIntersectionType::TsIntersectionType(_)) => {
                TypeExpr::Intersection { span }
            }
            T::TsTypeLit(_) => TypeExpr::Unsupported { what: "an inline object type", span },
            T::TsTupleType(_) => TypeExpr::Unsupported { what: "a tuple type", span },
            T::TsFnOrConstructorType(_) => TypeExpr::Unsupported { what: "a function type", span },
            T::TsConditionalType(_) => TypeExpr::Unsupported { what: "a conditional type", span },
            T::TsMappedType(_) => TypeExpr::Unsupported { what: "a mapped type", span },
            T::TsTypeQuery(_) => TypeExpr::Unsupported { what: "a `typeof` type", span },
            T::TsTypeOperator(_) => TypeExpr::Unsupported { what: "a type operator (`keyof`, `readonly` …)", span },
            T::TsIndexedAccessType(_) => TypeExpr::Unsupported { what: "an indexed access type", span },
            T::TsImportType(_) => TypeExpr::Unsupported { what: "an `import()` type", span },
            T::TsThisType(_) => TypeExpr::Unsupported { what: "the `this` type", span },
            _ => TypeExpr::Unsupported { what: "this kind of type", span },
        }
    }

    fn enumeration(&mut self, e: &ast::TsEnumDecl, exported: bool, doc_pos: BytePos) -> Enum {
        let members = e
            .members
            .iter()
            .map(|m| {
                let name = match &m.id {
                    ast::TsEnumMemberId::Ident(id) => self.name(&id.sym, id.span),
                    ast::TsEnumMemberId::Str(s) => self.name(&s.value.to_string_lossy(), s.span),
                };
                let value = match m.init.as_deref() {
                    None => EnumValue::Missing,
                    Some(ast::Expr::Lit(ast::Lit::Str(s))) => EnumValue::String(s.value.to_string_lossy().into_owned()),
                    Some(_) => EnumValue::Other,
                };
                EnumMember { name, span: self.span(m.span), value, doc: self.doc(m.span.lo) }
            })
            .collect();
        Enum {
            name: self.name(&e.id.sym, e.id.span),
            span: self.span(e.span),
            exported,
            is_const: e.is_const || e.declare,
            members,
            doc: self.doc(doc_pos),
        }
    }
}
