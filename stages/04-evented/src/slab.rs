//! The table of one loop's connections, indexed by the number epoll hands back with each event.
//!
//! epoll gives back, with every event, the 64-bit value it was registered with (mio's `Token`).
//! A slab turns that number into the connection in one array index: slots are reused through a
//! free list, so keys stay small and dense, and a closed connection's slot is the next one taken.
//! A reused key can still reach the loop in a late message (a pool reply, a timer), which is why
//! every connection also carries an `id` that is never reused (see `conn.rs`).

/// A vector of slots, each holding a value or the index of the next free slot.
#[derive(Debug)]
pub struct Slab<T> {
    slots: Vec<Slot<T>>,
    /// The first free slot, or `slots.len()` when every slot is taken.
    next_free: usize,
    len: usize,
}

#[derive(Debug)]
enum Slot<T> {
    Taken(T),
    /// Free; holds the next free slot (the free list runs through the vector itself).
    Free(usize),
}

impl<T> Default for Slab<T> {
    fn default() -> Slab<T> {
        Slab {
            slots: Vec::new(),
            next_free: 0,
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    /// An empty slab.
    pub fn new() -> Slab<T> {
        Slab::default()
    }

    /// The key the next `insert` will use.
    pub fn next_key(&self) -> usize {
        self.next_free
    }

    /// Stores `value` and returns its key.
    pub fn insert(&mut self, value: T) -> usize {
        let key = self.next_free;
        if key == self.slots.len() {
            self.slots.push(Slot::Taken(value));
            self.next_free = key + 1;
        } else {
            let Slot::Free(next) = std::mem::replace(&mut self.slots[key], Slot::Taken(value))
            else {
                unreachable!("next_free always names a free slot")
            };
            self.next_free = next;
        }
        self.len += 1;
        key
    }

    /// Removes and returns the value at `key`, if there is one.
    pub fn remove(&mut self, key: usize) -> Option<T> {
        let slot = self.slots.get_mut(key)?;
        if matches!(slot, Slot::Free(_)) {
            return None;
        }
        let Slot::Taken(value) = std::mem::replace(slot, Slot::Free(self.next_free)) else {
            unreachable!("checked just above that the slot is taken")
        };
        self.next_free = key;
        self.len -= 1;
        Some(value)
    }

    pub fn get_mut(&mut self, key: usize) -> Option<&mut T> {
        match self.slots.get_mut(key) {
            Some(Slot::Taken(value)) => Some(value),
            _ => None,
        }
    }

    pub fn get(&self, key: usize) -> Option<&T> {
        match self.slots.get(key) {
            Some(Slot::Taken(value)) => Some(value),
            _ => None,
        }
    }

    /// How many values are stored.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The keys of every stored value, in slot order.
    pub fn keys(&self) -> impl Iterator<Item = usize> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(key, slot)| matches!(slot, Slot::Taken(_)).then_some(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_reused_most_recently_freed_first() {
        let mut slab = Slab::new();
        let a = slab.insert("a");
        let b = slab.insert("b");
        let c = slab.insert("c");
        assert_eq!((a, b, c), (0, 1, 2));
        assert_eq!(slab.remove(b), Some("b"));
        assert_eq!(slab.remove(a), Some("a"));
        assert_eq!(slab.remove(a), None, "a second remove finds nothing");
        assert_eq!(slab.len(), 1);
        assert_eq!(slab.next_key(), a);
        assert_eq!(slab.insert("d"), a);
        assert_eq!(slab.insert("e"), b);
        assert_eq!(slab.insert("f"), 3);
        assert_eq!(slab.keys().collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        assert_eq!(slab.get(1), Some(&"e"));
        assert_eq!(slab.get(9), None);
    }

    #[test]
    fn emptied_slab_is_empty() {
        let mut slab = Slab::new();
        let keys: Vec<_> = (0..100).map(|value| slab.insert(value)).collect();
        for key in keys {
            assert_eq!(slab.remove(key), Some(key));
        }
        assert!(slab.is_empty());
        assert_eq!(slab.keys().count(), 0);
    }
}
