//! The registry of live handles: what a C handle is, and the only place one is dereferenced.
//!
//! A handle given to C is **not** the address of the object. It is a number,
//! `generation << 28 | slot`, that names a slot of this registry; the C side only ever holds it
//! as an opaque `T *` and never dereferences it. A slot records whether it is live, the handle
//! type it holds, its generation, and how many calls are using it. So:
//!
//! * a freed handle is refused even after its slot was reused: the slot's generation moved on
//!   (a freed slot is reused only after [`REUSE_AFTER`] other slots were freed, and a slot whose
//!   36-bit generation is exhausted is retired, so a stale handle never names a new object);
//! * a handle of another type, or a value that never came from this library, is refused;
//! * a double free is a no-op;
//! * freeing an object that another thread is using waits for that call to end: the last user
//!   drops it, so a `*_free` racing with a call never frees memory under it;
//! * an object used mutably (options, sessions, notaries) is borrowed exclusively: a second
//!   thread calling into it at the same time is refused with [`Refusal::Busy`] instead of both
//!   touching its sockets.
//!
//! The read path takes no lock: one atomic compare-and-swap to borrow and one atomic
//! subtraction to give back, on the slot's own word. Creating and freeing handles takes a small
//! mutex around the free list.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

#[cfg(not(target_pointer_width = "64"))]
compile_error!("ot-transport's handle registry encodes handles in 64-bit pointers");

/// Bits of a handle that name the slot.
const INDEX_BITS: u32 = 28;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
/// Bits of a handle (and of a slot's state) that hold the slot's generation.
const GEN_SHIFT: u32 = 28;
const MAX_GEN: u64 = (1 << (64 - GEN_SHIFT)) - 1;
/// Slots are allocated in chunks that never move or go away.
const CHUNK_BITS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_BITS;
const CHUNKS: usize = 1 << (INDEX_BITS - CHUNK_BITS);
/// A freed slot is handed out again only once this many other freed slots wait before it.
pub(crate) const REUSE_AFTER: usize = 4096;

// A slot's state word: users (16 bits; all ones = one exclusive user), live, free pending,
// kind (4 bits), generation (36 bits).
const USERS_MASK: u64 = 0xFFFF;
const EXCLUSIVE: u64 = 0xFFFF;
const MAX_SHARED: u64 = 0xFFFE;
const LIVE: u64 = 1 << 16;
const PENDING_FREE: u64 = 1 << 17;
const KIND_SHIFT: u32 = 18;
const KIND_MASK: u64 = 0xF << KIND_SHIFT;
/// A call panicked while it held the object: it may be half-updated, so it is no longer lent.
const POISONED: u64 = 1 << 22;

/// One cache line per slot, so threads using different handles never contend on a line.
#[repr(align(64))]
struct Slot {
    state: AtomicU64,
    obj: AtomicPtr<()>,
}

#[allow(clippy::declare_interior_mutable_const)] // only used to initialise the static array
const NO_CHUNK: AtomicPtr<Slot> = AtomicPtr::new(ptr::null_mut());
static TABLE: [AtomicPtr<Slot>; CHUNKS] = [NO_CHUNK; CHUNKS];

struct Alloc {
    /// Next never-used slot index (0 is never used, so no handle is NULL).
    next: u64,
    /// Freed slots, oldest first.
    free: VecDeque<u32>,
}

static ALLOC: Mutex<Alloc> = Mutex::new(Alloc {
    next: 1,
    free: VecDeque::new(),
});

fn alloc_lock() -> std::sync::MutexGuard<'static, Alloc> {
    // The free list is consistent at every point a panic could occur: recover it.
    ALLOC.lock().unwrap_or_else(|p| p.into_inner())
}

/// The handle types. The value is stored in a slot (4 bits; 0 is "no kind").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum HandleKind {
    Buffer = 1,
    Key = 2,
    Envelope = 3,
    Options = 4,
    Session = 5,
    Notary = 6,
    Request = 7,
    Broker = 8,
    Nym = 9,
    Contract = 10,
    StreamSealer = 11,
    StreamOpener = 12,
}

/// Implemented by every type handed to C as an opaque handle.
pub(crate) trait Handle: Sized {
    const KIND: HandleKind;
    const NAME: &'static str;
}

/// Why a handle could not be borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not a live handle of the wanted type: freed, of another type, or never from us.
    NotLive,
    /// Live, but in use by another thread in a way that excludes this use.
    Busy,
    /// Live, but an earlier call panicked while using it (see [`POISONED`]): only freeing works.
    Poisoned,
}

fn slot(index: u64) -> Option<&'static Slot> {
    if index == 0 || index > INDEX_MASK {
        return None;
    }
    let chunk = TABLE[(index >> CHUNK_BITS) as usize].load(Ordering::Acquire);
    if chunk.is_null() {
        return None;
    }
    // SAFETY: a non-NULL chunk pointer points to CHUNK slots that are never freed, and the
    // offset is below CHUNK.
    Some(unsafe { &*chunk.add((index as usize) & (CHUNK - 1)) })
}

fn kind_bits(kind: HandleKind) -> u64 {
    (kind as u64) << KIND_SHIFT
}

/// Registers `value` and returns its handle.
pub(crate) fn register<T: Handle>(value: T) -> *mut T {
    let obj = Box::into_raw(Box::new(value)).cast::<()>();
    let (index, s) = {
        let mut a = alloc_lock();
        let index = if a.free.len() > REUSE_AFTER {
            a.free.pop_front().map(u64::from)
        } else {
            None
        };
        let index = match index {
            Some(i) => i,
            None => {
                let i = a.next;
                assert!(i <= INDEX_MASK, "handle registry full (2^28 live handles)");
                let c = (i >> CHUNK_BITS) as usize;
                if TABLE[c].load(Ordering::Acquire).is_null() {
                    let chunk: Box<[Slot]> = (0..CHUNK)
                        .map(|_| Slot {
                            state: AtomicU64::new(1 << GEN_SHIFT),
                            obj: AtomicPtr::new(ptr::null_mut()),
                        })
                        .collect();
                    TABLE[c].store(Box::leak(chunk).as_mut_ptr(), Ordering::Release);
                }
                a.next += 1;
                i
            }
        };
        (index, slot(index).expect("allocated slot exists"))
    };
    // The slot is not live and nobody else holds its index: we own it until it is published.
    let generation = s.state.load(Ordering::Acquire) >> GEN_SHIFT;
    s.obj.store(obj, Ordering::Relaxed);
    s.state.store(
        (generation << GEN_SHIFT) | kind_bits(T::KIND) | LIVE,
        Ordering::Release,
    );
    ptr::without_provenance_mut(((generation << GEN_SHIFT) | index) as usize)
}

/// The slot a handle names, its index, and the generation the handle expects.
fn locate<T: Handle>(h: *const T) -> Option<(&'static Slot, u64, u64)> {
    let v = h as usize as u64;
    Some((slot(v & INDEX_MASK)?, v & INDEX_MASK, v >> GEN_SHIFT))
}

fn matches<T: Handle>(state: u64, generation: u64) -> bool {
    state & LIVE != 0
        && state & PENDING_FREE == 0
        && state >> GEN_SHIFT == generation
        && state & KIND_MASK == kind_bits(T::KIND)
}

fn acquire<T: Handle>(h: *const T, exclusive: bool) -> Result<(&'static Slot, u64), Refusal> {
    let (s, index, generation) = locate(h).ok_or(Refusal::NotLive)?;
    let mut state = s.state.load(Ordering::Acquire);
    loop {
        if !matches::<T>(state, generation) {
            return Err(Refusal::NotLive);
        }
        if state & POISONED != 0 {
            return Err(Refusal::Poisoned);
        }
        let users = state & USERS_MASK;
        let new = if exclusive {
            if users != 0 {
                return Err(Refusal::Busy);
            }
            state | EXCLUSIVE
        } else {
            if users >= MAX_SHARED {
                return Err(Refusal::Busy);
            }
            state + 1
        };
        match s
            .state
            .compare_exchange_weak(state, new, Ordering::Acquire, Ordering::Acquire)
        {
            Ok(_) => return Ok((s, index)),
            Err(now) => state = now,
        }
    }
}

/// The state of a slot once its object is gone: next generation, not live. A slot whose
/// generation reached the maximum stays there and is never handed out again.
fn retired(state: u64) -> u64 {
    ((state >> GEN_SHIFT) + 1).min(MAX_GEN) << GEN_SHIFT
}

/// Drops the object of a slot whose state was just moved from `from` to `retired(from)` by us.
fn finish_free<T: Handle>(s: &'static Slot, from: u64, index: u64) {
    let obj = s.obj.swap(ptr::null_mut(), Ordering::Acquire).cast::<T>();
    if !obj.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: the slot held a `T` (its kind said so) created by `register`; we moved the
            // state out of LIVE, so no one else can reach or drop it.
            drop(unsafe { Box::from_raw(obj) });
        }));
    }
    if (from >> GEN_SHIFT) + 1 < MAX_GEN {
        alloc_lock().free.push_back(index as u32);
    }
}

fn release<T: Handle>(s: &'static Slot, index: u64, exclusive: bool) {
    if std::thread::panicking() {
        // The call using the object panicked (the boundary catches it): the object may be
        // half-updated, so later calls are refused (OT_ERR_STATE) until it is freed.
        s.state.fetch_or(POISONED, Ordering::AcqRel);
    }
    let dec = if exclusive { EXCLUSIVE } else { 1 };
    let now = s.state.fetch_sub(dec, Ordering::AcqRel) - dec;
    if now & PENDING_FREE != 0
        && now & USERS_MASK == 0
        && s.state
            .compare_exchange(now, retired(now), Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    {
        finish_free::<T>(s, now, index);
    }
}

/// What [`unregister`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freed {
    /// The object was dropped now, or will be when the calls using it return.
    Yes,
    /// NULL, stale, already freed or foreign: nothing done.
    NotLive,
    /// A live handle of another type: left untouched.
    OtherType,
}

/// Frees the object behind a handle (at once, or when the last call using it returns).
pub(crate) fn unregister<T: Handle>(h: *mut T) -> Freed {
    let Some((s, index, generation)) = locate(h) else {
        return Freed::NotLive;
    };
    let mut state = s.state.load(Ordering::Acquire);
    loop {
        if state & LIVE == 0 || state & PENDING_FREE != 0 || state >> GEN_SHIFT != generation {
            return Freed::NotLive;
        }
        if state & KIND_MASK != kind_bits(T::KIND) {
            return Freed::OtherType;
        }
        let (new, now) = if state & USERS_MASK == 0 {
            (retired(state), true)
        } else {
            (state | PENDING_FREE, false)
        };
        match s
            .state
            .compare_exchange_weak(state, new, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {
                if now {
                    finish_free::<T>(s, state, index);
                }
                return Freed::Yes;
            }
            Err(x) => state = x,
        }
    }
}

/// A shared borrow of a handle's object; given back when dropped.
pub(crate) struct Shared<T: Handle> {
    slot: &'static Slot,
    index: u64,
    obj: *const T,
    _t: PhantomData<T>,
}

impl<T: Handle> Shared<T> {
    pub(crate) fn borrow(h: *const T) -> Result<Self, Refusal> {
        let (slot, index) = acquire(h, false)?;
        let obj = slot.obj.load(Ordering::Acquire).cast::<T>();
        Ok(Shared {
            slot,
            index,
            obj,
            _t: PhantomData,
        })
    }
}

impl<T: Handle> Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: while this borrow is counted in the slot, the object is live and not dropped;
        // shared borrows only give out `&T`.
        unsafe { &*self.obj }
    }
}

impl<T: Handle> Drop for Shared<T> {
    fn drop(&mut self) {
        release::<T>(self.slot, self.index, false);
    }
}

/// An exclusive borrow of a handle's object; given back when dropped.
pub(crate) struct Exclusive<T: Handle> {
    slot: &'static Slot,
    index: u64,
    obj: *mut T,
    _t: PhantomData<T>,
}

impl<T: Handle> Exclusive<T> {
    pub(crate) fn borrow(h: *mut T) -> Result<Self, Refusal> {
        let (slot, index) = acquire(h, true)?;
        let obj = slot.obj.load(Ordering::Acquire).cast::<T>();
        Ok(Exclusive {
            slot,
            index,
            obj,
            _t: PhantomData,
        })
    }
}

impl<T: Handle> Deref for Exclusive<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the exclusive mark in the slot keeps every other borrow and the drop out.
        unsafe { &*self.obj }
    }
}

impl<T: Handle> DerefMut for Exclusive<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; this is the only borrow of the object.
        unsafe { &mut *self.obj }
    }
}

impl<T: Handle> Drop for Exclusive<T> {
    fn drop(&mut self) {
        release::<T>(self.slot, self.index, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Thing(u32);
    impl Handle for Thing {
        const KIND: HandleKind = HandleKind::Buffer;
        const NAME: &'static str = "thing";
    }
    struct Other;
    impl Handle for Other {
        const KIND: HandleKind = HandleKind::Key;
        const NAME: &'static str = "other";
    }

    #[test]
    fn stale_handles_are_refused_after_reuse() {
        let a = register(Thing(1));
        assert_eq!(Shared::borrow(a).map(|t| t.0), Ok(1));
        assert_eq!(unregister(a), Freed::Yes);
        assert_eq!(unregister(a), Freed::NotLive);
        let many: Vec<_> = (0..3 * REUSE_AFTER as u32)
            .map(|i| register(Thing(i)))
            .collect();
        assert!(Shared::borrow(a).is_err());
        assert_eq!(unregister(a), Freed::NotLive);
        for (i, h) in many.iter().enumerate() {
            assert_eq!(Shared::borrow(*h).map(|t| t.0), Ok(i as u32));
            assert_eq!(unregister(*h), Freed::Yes);
        }
    }

    #[test]
    fn a_panic_while_borrowed_poisons_the_object_until_it_is_freed() {
        let a = register(Thing(3));
        let r = catch_unwind(AssertUnwindSafe(|| {
            let _b = Exclusive::borrow(a).unwrap();
            panic!("a bug in a call");
        }));
        assert!(r.is_err());
        assert_eq!(Shared::borrow(a).err(), Some(Refusal::Poisoned));
        assert_eq!(Exclusive::borrow(a).err(), Some(Refusal::Poisoned));
        assert_eq!(unregister(a), Freed::Yes);
        assert_eq!(Shared::borrow(a).err(), Some(Refusal::NotLive));
        // A slot reused after a poisoned object holds a healthy one.
        let b = register(Thing(4));
        assert_eq!(Shared::borrow(b).map(|t| t.0), Ok(4));
        assert_eq!(unregister(b), Freed::Yes);
    }

    #[test]
    fn wrong_type_foreign_and_busy() {
        let a = register(Thing(7));
        assert!(Shared::<Other>::borrow(a.cast()).is_err());
        assert_eq!(unregister::<Other>(a.cast()), Freed::OtherType);
        let local = 5u32;
        assert!(Shared::<Thing>::borrow((&local as *const u32).cast()).is_err());
        assert!(Shared::<Thing>::borrow(ptr::null()).is_err());
        let ex = Exclusive::borrow(a).unwrap();
        assert_eq!(Exclusive::borrow(a).err(), Some(Refusal::Busy));
        assert_eq!(Shared::borrow(a).err(), Some(Refusal::Busy));
        drop(ex);
        let s1 = Shared::borrow(a).unwrap();
        assert_eq!(Exclusive::borrow(a).err(), Some(Refusal::Busy));
        // Freed while borrowed: refused to new users at once, dropped when the borrow ends.
        assert_eq!(unregister(a), Freed::Yes);
        assert_eq!(Shared::borrow(a).err(), Some(Refusal::NotLive));
        assert_eq!(s1.0, 7);
        drop(s1);
        assert_eq!(unregister(a), Freed::NotLive);
    }
}
