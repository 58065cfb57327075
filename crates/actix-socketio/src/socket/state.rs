//! Values kept by type: the application's state on the server, extensions on a socket.

use std::any::{Any, TypeId};
use std::sync::Arc;

/// At most one value per type. A list: a socket or a server holds a few types at most,
/// and an empty list is smaller than an empty map (every socket has one).
#[derive(Default)]
pub(crate) struct TypeMap(Vec<(TypeId, Arc<dyn Any + Send + Sync>)>);

impl TypeMap {
    /// Stores `value`, replacing the value of the same type.
    pub(crate) fn insert<T: Any + Send + Sync>(&mut self, value: T) {
        self.remove::<T>();
        self.0.push((TypeId::of::<T>(), Arc::new(value)));
    }

    /// The value of type `T`, shared.
    pub(crate) fn get<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let (_, value) = self.0.iter().find(|(id, _)| *id == TypeId::of::<T>())?;
        value.clone().downcast().ok()
    }

    /// Removes the value of type `T`.
    pub(crate) fn remove<T: Any + Send + Sync>(&mut self) -> Option<Arc<T>> {
        let at = self.0.iter().position(|(id, _)| *id == TypeId::of::<T>())?;
        self.0.swap_remove(at).1.downcast().ok()
    }

    /// Takes every value out, for dropping them outside the lock that guards the map.
    pub(crate) fn take(&mut self) -> TypeMap {
        std::mem::take(self)
    }
}

#[cfg(test)]
mod tests {
    use super::TypeMap;

    #[test]
    fn one_value_per_type() {
        let mut map = TypeMap::default();
        map.insert(1u32);
        map.insert(2u32);
        map.insert("text");
        assert_eq!(*map.get::<u32>().unwrap(), 2);
        assert_eq!(*map.get::<&str>().unwrap(), "text");
        assert!(map.get::<u64>().is_none());
        assert_eq!(*map.remove::<u32>().unwrap(), 2);
        assert!(map.get::<u32>().is_none());
    }
}
