//! put, get, ls, rm, mark, history. Content streams in and out (see
//! [`content`]): memory stays flat whatever its size.

use base64::Engine;
use custodian_core::data::resource::JSON;
use custodian_core::{
    Author, ListEntry, Mark, NewMeta, NewResource, PodPath, Sensitivity, INLINE_MAX,
};
use serde_json::json;

use super::{content, parse_path, Context};
use crate::cli::{GetArgs, HistoryArgs, LsArgs, MarkArgs, PutArgs};
use crate::fail::{code, Fail};
use crate::output::{self, print};

pub fn put(ctx: &Context, args: PutArgs) -> Result<(), Fail> {
    // Check everything the person typed, and the size of a file, before
    // asking for the passphrase.
    let path = parse_path(&args.path)?;
    let category = args.category.as_deref().map(str::parse).transpose()?;
    let mark = if args.sensitive {
        Mark::Sensitive
    } else if args.not_sensitive {
        Mark::Lower
    } else {
        Mark::Keep
    };
    let meta = if let Some(text) = &args.json {
        let content_type = args.content_type.unwrap_or_else(|| JSON.into());
        if content_type == JSON {
            serde_json::from_str::<serde::de::IgnoredAny>(text)
                .map_err(|e| Fail::new(code::INVALID, format!("--json is not valid JSON: {e}")))?;
        }
        let vault = ctx.unlock()?;
        vault.store().put(
            &path,
            NewResource {
                content: text.clone().into_bytes(),
                content_type,
                category,
                mark,
            },
        )?
    } else {
        let mut source = content::Source::open(&path, args.file.as_deref())?;
        let content_type = args
            .content_type
            .unwrap_or_else(|| source.guessed_type().into());
        let vault = ctx.unlock()?;
        let mut progress = content::Progress::new(source.len);
        let len = source.len;
        let written = vault.store().put_stream(
            &path,
            NewMeta {
                content_type,
                category,
                mark,
            },
            &mut source.reader(),
            len,
            &Author::Owner,
            &mut |n| progress.update(n),
        );
        progress.finish();
        written?
    };
    print(&format!(
        "Saved {} (version {}, {}, {}, {}).\n",
        meta.path,
        meta.version,
        meta.category,
        meta.sensitivity,
        output::size(meta.size)
    ))
}

pub fn get(ctx: &Context, args: GetArgs) -> Result<(), Fail> {
    let path = parse_path(&args.path)?;
    if let Some(file) = &args.output {
        content::check_output(file)?;
    }
    let vault = ctx.unlock()?;
    let reader = vault.store().open_content(&path, args.version)?;
    if let Some(file) = &args.output {
        let size = content::to_file(reader, file)?;
        return print(&format!(
            "Wrote {path} to {} ({}).\n",
            file.display(),
            output::size(size)
        ));
    }
    if !args.json {
        return content::to_stdout(reader);
    }
    let size = reader.meta().size;
    if size > INLINE_MAX as u64 {
        return Err(Fail::new(
            code::INVALID,
            format!(
                "{path} is {}, too large to print as JSON: write it to a file with `custodian get {path} --output FILE` (and its metadata with `custodian history {path} --json`)",
                output::size(size)
            ),
        ));
    }
    let meta = reader.meta().clone();
    let content = reader.into_bytes()?;
    let mut doc = serde_json::to_value(&meta).map_err(|e| Fail::new(code::ERROR, e.to_string()))?;
    match serde_json::from_slice::<serde_json::Value>(&content) {
        Ok(value) if meta.content_type.starts_with(JSON) => doc["content"] = value,
        _ => {
            doc["content_base64"] =
                json!(base64::engine::general_purpose::STANDARD.encode(&content))
        }
    }
    output::print_json(&doc)
}

pub fn ls(ctx: &Context, args: LsArgs) -> Result<(), Fail> {
    let container = container_path(args.container.as_deref().unwrap_or("/"))?;
    let after = args.after.as_deref().map(|a| after_path(&container, a));
    let vault = ctx.unlock()?;
    let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
    let page = vault
        .store()
        .list_page(&container, after.as_deref(), limit)?;
    if args.json {
        return output::print_json(&page);
    }
    if page.entries.is_empty() {
        return print(&match &after {
            Some(after) => format!("Nothing in {container} after {after}.\n"),
            None => format!("{container} is empty.\n"),
        });
    }
    let rows: Vec<Vec<String>> = page
        .entries
        .iter()
        .map(|e| match e {
            ListEntry::Container { path, members } => vec![
                path.to_string(),
                match members {
                    Some(n) => format!("container, {n} item{}", if *n == 1 { "" } else { "s" }),
                    None => "container".into(),
                },
            ],
            ListEntry::Resource(m) => vec![
                m.path.to_string(),
                m.content_type.clone(),
                m.category.to_string(),
                if m.sensitivity.name() == "sensitive" {
                    "sensitive".into()
                } else {
                    String::new()
                },
                format!("v{}", m.version),
                output::size(m.size),
                output::when(m.updated_at),
            ],
        })
        .collect();
    print(&output::table(&rows))?;
    if let Some(next) = &page.next {
        // On stderr: the table on stdout stays only the table.
        eprintln!("{}", more_hint(&container, next, args.limit));
    }
    Ok(())
}

/// `--after NAME`: a name inside the container, or a path as given.
fn after_path(container: &PodPath, after: &str) -> String {
    if after.starts_with('/') {
        after.to_string()
    } else {
        format!("{container}{after}")
    }
}

/// What to type for the next page.
fn more_hint(container: &PodPath, next: &str, limit: u64) -> String {
    let limit = if limit == custodian_core::data::resource::LIST_DEFAULT as u64 {
        String::new()
    } else {
        format!(" --limit {limit}")
    };
    format!(
        "More members follow; for the next page: custodian ls {} --after {}{limit}",
        shell_word(container.as_str()),
        shell_word(next)
    )
}

/// `text` as one shell word: as it is when it holds nothing a shell reads
/// specially, else in single quotes.
fn shell_word(text: &str) -> String {
    if text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/-_.,:@+=%".contains(&b))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// `ls /contact` means the container `/contact/`.
fn container_path(raw: &str) -> Result<PodPath, Fail> {
    let path = parse_path(raw)?;
    if path.is_container() {
        Ok(path)
    } else {
        parse_path(&format!("{}/", path.as_str()))
    }
}

pub fn rm(ctx: &Context, raw: &str) -> Result<(), Fail> {
    let path = parse_path(raw)?;
    let vault = ctx.unlock()?;
    let version = vault.store().delete(&path)?;
    print(&format!(
        "Deleted {path}. Its earlier versions are kept: `custodian history {path}` (deletion recorded as version {version}).\n"
    ))
}

pub fn mark(ctx: &Context, args: MarkArgs) -> Result<(), Fail> {
    let path = parse_path(&args.path)?;
    let vault = ctx.unlock()?;
    let meta = vault.store().set_sensitive(&path, args.sensitive)?;
    print(&match meta.sensitivity {
        Sensitivity::Sensitive => format!(
            "{path} is marked sensitive: {} (version {}).\n",
            if meta.category.is_sensitive() {
                format!("a grant reaches it only where you tick {} data", meta.category)
            } else {
                "no grant reaches it until you lower the mark".to_string()
            },
            meta.version
        ),
        Sensitivity::Normal => format!(
            "{path} is no longer marked sensitive: grants that cover its path reach it (version {}; logged).\n",
            meta.version
        ),
    })
}

pub fn history(ctx: &Context, args: HistoryArgs) -> Result<(), Fail> {
    let path = parse_path(&args.path)?;
    let vault = ctx.unlock()?;
    let versions = vault.store().history(&path)?;
    if args.json {
        return output::print_json(&versions);
    }
    let mut rows = vec![vec![
        "VERSION".into(),
        "WHEN".into(),
        "SIZE".into(),
        "TYPE".into(),
        "BY".into(),
    ]];
    for v in &versions {
        let author = serde_json::to_value(&v.author)
            .ok()
            .and_then(|a| a.as_str().map(String::from))
            .unwrap_or_default();
        if v.deleted {
            rows.push(vec![
                v.version.to_string(),
                output::when(v.written_at),
                "-".into(),
                "(deleted)".into(),
                author,
            ]);
        } else {
            rows.push(vec![
                v.version.to_string(),
                output::when(v.written_at),
                output::size(v.size),
                v.content_type.clone(),
                author,
            ]);
        }
    }
    print(&output::table(&rows))
}

#[cfg(test)]
mod ls_tests {
    use super::*;

    #[test]
    fn the_next_page_is_told_as_a_command_to_paste() {
        let c = parse_path("/photos/").unwrap();
        assert_eq!(after_path(&c, "a.jpg"), "/photos/a.jpg");
        assert_eq!(after_path(&c, "/photos/a.jpg"), "/photos/a.jpg");
        assert_eq!(
            more_hint(&c, "/photos/2026/", 1000),
            "More members follow; for the next page: custodian ls /photos/ --after /photos/2026/"
        );
        assert_eq!(
            more_hint(&c, "/photos/it's mine", 10),
            "More members follow; for the next page: custodian ls /photos/ --after '/photos/it'\\''s mine' --limit 10"
        );
    }
}
