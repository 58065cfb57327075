//! The server's namespaces: static ones by name, dynamic ones created under a parent.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::adapter::AdapterFactory;
use super::namespace::{Namespace, NsHandlers, NsInner, ParentInner, ParentNamespace};
use super::socket::SocketSettings;
use crate::sync::{read, write};

pub(crate) struct Namespaces {
    /// Most children all parents together may create.
    max_dynamic: usize,
    adapter: AdapterFactory,
    settings: Arc<SocketSettings>,
    namespaces: RwLock<HashMap<String, Namespace>>,
    parents: RwLock<Vec<ParentNamespace>>,
}

impl Namespaces {
    pub(crate) fn new(
        max_dynamic: usize,
        adapter: AdapterFactory,
        settings: Arc<SocketSettings>,
    ) -> Namespaces {
        Namespaces {
            max_dynamic,
            adapter,
            settings,
            namespaces: RwLock::new(HashMap::new()),
            parents: RwLock::new(Vec::new()),
        }
    }

    /// The namespace for a CONNECT: a static one, or a new child of the first parent whose
    /// predicate accepts the name, while there are fewer than `max_dynamic`.
    pub(crate) fn lookup(&self, name: &str) -> Option<Namespace> {
        if let Some(ns) = read(&self.namespaces).get(name) {
            return Some(ns.clone());
        }
        let parents = read(&self.parents);
        let parent = parents.iter().find(|p| (p.0.accepts)(name))?;
        let mut namespaces = write(&self.namespaces);
        if let Some(ns) = namespaces.get(name) {
            return Some(ns.clone());
        }
        let children: usize = parents.iter().map(|p| read(&p.0.children).len()).sum();
        if children >= self.max_dynamic {
            log::warn!(
                "refusing dynamic namespace {name:?}: {children} exist, the limit is {}",
                self.max_dynamic
            );
            return None;
        }
        let child = self.create(name.to_owned(), parent.0.handlers.clone());
        namespaces.insert(name.to_owned(), child.clone());
        write(&parent.0.children).push(child.clone());
        Some(child)
    }

    /// The static namespace `name` (a leading `/` is added), created if needed.
    pub(crate) fn of(&self, name: &str) -> Namespace {
        let name = if name.starts_with('/') {
            name.to_owned()
        } else {
            format!("/{name}")
        };
        write(&self.namespaces)
            .entry(name.clone())
            .or_insert_with(|| self.create(name, Arc::new(NsHandlers::default())))
            .clone()
    }

    /// A parent of dynamic namespaces for the names `accepts` allows.
    pub(crate) fn add_parent(
        &self,
        accepts: Box<dyn Fn(&str) -> bool + Send + Sync>,
    ) -> ParentNamespace {
        let parent = ParentNamespace(Arc::new(ParentInner {
            accepts,
            handlers: Arc::new(NsHandlers::default()),
            children: RwLock::new(Vec::new()),
        }));
        write(&self.parents).push(parent.clone());
        parent
    }

    /// Every namespace, static and dynamic.
    pub(crate) fn all(&self) -> Vec<Namespace> {
        read(&self.namespaces).values().cloned().collect()
    }

    fn create(&self, name: String, handlers: Arc<NsHandlers>) -> Namespace {
        Namespace(NsInner::new(
            name,
            handlers,
            &self.adapter,
            self.settings.clone(),
        ))
    }
}
