//! TEMPORARY (stream S, issue 16): stand-ins for stream C's streaming API,
//! with the contract's names, so the pod API builds until C's commit is
//! merged. Removed at that merge; nothing here is streamed for real.

use std::io::{Cursor, Read};
use std::marker::PhantomData;

use crate::data::category::Category;
use crate::data::path::PodPath;
use crate::vault::store::Store;
use crate::{Error, Result};

use super::{Author, Mark, NewResource, ResourceMeta};

pub const CHUNK: usize = 1 << 20;
pub const INLINE_MAX: usize = 256 * 1024;
pub const MAX_CONTENT: u64 = 16 << 30;

/// What to write, without the bytes.
pub struct NewMeta {
    pub content_type: String,
    pub category: Option<Category>,
    pub mark: Mark,
}

impl Store {
    /// Stand-in: reads the whole stream, then `put_as`.
    pub fn put_stream(
        &self,
        path: &PodPath,
        meta: NewMeta,
        reader: &mut dyn Read,
        _len: Option<u64>,
        author: &Author,
        _progress: &mut dyn FnMut(u64),
    ) -> Result<ResourceMeta> {
        let mut content = Vec::new();
        reader
            .read_to_end(&mut content)
            .map_err(|source| Error::Io {
                context: "reading the content".into(),
                source,
            })?;
        self.put_as(
            path,
            NewResource {
                content,
                content_type: meta.content_type,
                category: meta.category,
                mark: meta.mark,
            },
            author,
        )
    }

    /// Stand-in: loads the whole version.
    pub fn open_content(&self, path: &PodPath, version: Option<u64>) -> Result<ContentReader<'_>> {
        let r = self.get(path, version)?;
        Ok(ContentReader {
            meta: r.meta,
            cursor: Cursor::new(r.content),
            _store: PhantomData,
        })
    }
}

/// Stand-in for the chunked reader.
pub struct ContentReader<'a> {
    meta: ResourceMeta,
    cursor: Cursor<Vec<u8>>,
    _store: PhantomData<&'a Store>,
}

impl ContentReader<'_> {
    pub fn meta(&self) -> &ResourceMeta {
        &self.meta
    }

    pub fn seek_to(&mut self, offset: u64) -> Result<()> {
        self.cursor.set_position(offset);
        Ok(())
    }
}

impl Read for ContentReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.cursor.read(buf)
    }
}
