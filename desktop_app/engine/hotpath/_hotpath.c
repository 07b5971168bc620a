/* Compiled twin of desktop_app/engine/hotpath/pure.py: the few calls on every lock, write and save.
 *
 * pure.py is the readable specification; this file must behave the same (the engine's
 * tests run against both, see `make test`). Only CPython's public C API is used (no _Py* names),
 * so it builds on CPython 3.11, 3.12 and 3.13. It relies on the GIL: a C function that runs no
 * bytecode and does not release the GIL is atomic with respect to other Python threads. A
 * free-threaded build (3.13t) therefore refuses to compile it and the pure twin is used.
 *
 * What runs here:
 *   LockCore   the uncontended acquire/release of a Lockable: owner, depth, count, acquire time,
 *              the caller's code object + instruction offset, hold histogram, one ring event.
 *              No strings, no allocation (the code object is referenced, never copied). A failed
 *              try calls the Python slow path, self._acquire_contended(me, blocking, timeout).
 *              try_acquire_apart/release_apart: an observer's use, counted apart from the users'.
 *   Guard      what `server.lock()` returns for the global lockable: __enter__ gives the lockable.
 *   StoreCore  SharedState's store: set() and the writer ident; set() sets the change events.
 *   Entry      one state entry (name, value, scope, version, time, writer ident).
 *   fill_chunk the whole-state save's type scan fused with filling the {Value, Scope} chunk.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef Py_GIL_DISABLED
#error "the compiled hot paths rely on the GIL; the pure-Python twin is used on free-threaded builds"
#endif

#if PY_VERSION_HEX < 0x030B0000
#error "CPython 3.11 or later is required"
#endif

#if PY_VERSION_HEX < 0x030C0000
#include <structmember.h>
#define Py_T_OBJECT_EX T_OBJECT_EX
#define Py_T_LONGLONG T_LONGLONG
#define Py_T_DOUBLE T_DOUBLE
#define Py_T_ULONG T_ULONG
#define Py_T_LONG T_LONG
#define Py_READONLY READONLY
#endif

/* Keep an exception aside while releasing a lock on an error path. */
#if PY_VERSION_HEX >= 0x030C0000
#define SAVE_EXC(v) PyObject *v = PyErr_GetRaisedException()
#define RESTORE_EXC(v) PyErr_SetRaisedException(v)
#else
#define SAVE_EXC(v)                    \
    PyObject *v##_t, *v##_v, *v##_tb;  \
    PyErr_Fetch(&v##_t, &v##_v, &v##_tb)
#define RESTORE_EXC(v) PyErr_Restore(v##_t, v##_v, v##_tb)
#endif

#define MAX_BUCKETS 256
#define SKIP_CACHE 64

/* -- module configuration (set once by hotpath/__init__.py through configure()) ---------------- */

static double bounds[MAX_BUCKETS];
static int n_buckets = 0;
static Py_ssize_t ring_size = 4096;
static int max_depth = 200; /* persistence.MAX_DEPTH; configure() sets it */
static PyObject *skip_files = NULL;   /* frozenset of file names whose frames are not the caller */
static PyObject *note_thread = NULL;  /* callable: records the calling thread's name (thread_names) */
static unsigned long long generation = 1; /* bumped when a thread ends: idents may be reused */
static PyObject *py_monotonic = NULL; /* time.monotonic / time.time where no C clock matches them */
static PyObject *py_time = NULL;

static PyObject *str_acquire_contended, *str_name, *str_co_filename, *str_set;
static PyObject *str__store, *str_casefold, *str_get, *str_value, *str_scope, *str_is_set;

/* The same clocks as time.monotonic() and time.time(), read without calling Python. */
static int
read_clock(PyObject *fallback, int monotonic, double *out)
{
#if PY_VERSION_HEX >= 0x030D0000
    (void)fallback;
    PyTime_t t;
    if ((monotonic ? PyTime_Monotonic(&t) : PyTime_Time(&t)) < 0) {
        return -1;
    }
    *out = PyTime_AsSecondsDouble(t);
    return 0;
#elif defined(__linux__)
    (void)fallback;
    struct timespec ts;
    if (clock_gettime(monotonic ? CLOCK_MONOTONIC : CLOCK_REALTIME, &ts) != 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    /* What CPython's _PyTime_AsSecondsDouble does with the same nanoseconds. */
    long long ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    if (ns % 1000000000LL == 0) {
        *out = (double)(ns / 1000000000LL);
    }
    else {
        *out = (double)ns / 1e9;
    }
    return 0;
#else
    (void)monotonic;
    PyObject *r = PyObject_CallNoArgs(fallback);
    if (r == NULL) {
        return -1;
    }
    *out = PyFloat_AsDouble(r);
    Py_DECREF(r);
    return (*out == -1.0 && PyErr_Occurred()) ? -1 : 0;
#endif
}

static inline int
mono_now(double *out)
{
    return read_clock(py_monotonic, 1, out);
}

static inline int
wall_now(double *out)
{
    return read_clock(py_time, 0, out);
}

/* Call the thread-name registry when `me` is not the thread this lock/store last saw, or a thread
 * ended since (its ident may now belong to another thread). Runs before any lock is taken. */
static inline int
note_if_new(unsigned long me, unsigned long *last, unsigned long long *seen)
{
    if (me == *last && *seen == generation) {
        return 0;
    }
    if (note_thread != NULL) {
        PyObject *r = PyObject_CallNoArgs(note_thread);
        if (r == NULL) {
            return -1;
        }
        Py_DECREF(r);
    }
    *last = me;
    *seen = generation;
    return 0;
}

/* -- histograms ------------------------------------------------------------------------------ */

typedef struct {
    long long count;
    double total;
    double max;
    long long buckets[MAX_BUCKETS];
} Hist;

static inline void
hist_add(Hist *h, double seconds)
{
    /* bisect_left(bounds, seconds, 0, n_buckets - 1) */
    int lo = 0, hi = n_buckets - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (bounds[mid] < seconds) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    h->buckets[lo]++;
    h->count++;
    h->total += seconds;
    if (seconds > h->max) {
        h->max = seconds;
    }
}

static PyObject *
hist_tuple(Hist *h)
{
    PyObject *buckets = PyList_New(n_buckets);
    if (buckets == NULL) {
        return NULL;
    }
    for (int i = 0; i < n_buckets; i++) {
        PyObject *n = PyLong_FromLongLong(h->buckets[i]);
        if (n == NULL) {
            Py_DECREF(buckets);
            return NULL;
        }
        PyList_SET_ITEM(buckets, i, n);
    }
    return Py_BuildValue("(LddN)", h->count, h->total, h->max, buckets);
}

/* -- the caller's code site -------------------------------------------------------------------- */

/* Frames in these files are the lock's own machinery (locks.py, contextlib): the site is the first
 * frame outside them. A direct-mapped cache keyed by code object keeps the check to a compare. */
static PyObject *skip_code[SKIP_CACHE];
static char skip_flag[SKIP_CACHE];

static int
is_skipped(PyCodeObject *code)
{
    size_t slot = ((uintptr_t)code >> 5) % SKIP_CACHE;
    if (skip_code[slot] == (PyObject *)code) {
        return skip_flag[slot];
    }
    PyObject *file = PyObject_GetAttr((PyObject *)code, str_co_filename);
    if (file == NULL) {
        return -1;
    }
    int skip = skip_files != NULL ? PySet_Contains(skip_files, file) : 0;
    Py_DECREF(file);
    if (skip < 0) {
        return -1;
    }
    Py_XSETREF(skip_code[slot], Py_NewRef((PyObject *)code));
    skip_flag[slot] = (char)skip;
    return skip;
}

/* The calling Python frame's code object (new reference, or NULL when there is no Python frame)
 * and instruction offset. Returns -1 on error. */
static int
caller_site(PyObject **code_out, int *lasti_out)
{
    *code_out = NULL;
    *lasti_out = -1;
    PyFrameObject *frame = PyEval_GetFrame(); /* borrowed */
    if (frame == NULL) {
        return 0;
    }
    Py_INCREF(frame);
    for (;;) {
        PyCodeObject *code = PyFrame_GetCode(frame);
        int skip = is_skipped(code);
        if (skip < 0) {
            Py_DECREF(code);
            Py_DECREF(frame);
            return -1;
        }
        if (!skip) {
            *code_out = (PyObject *)code;
            *lasti_out = PyFrame_GetLasti(frame);
            Py_DECREF(frame);
            return 0;
        }
        Py_DECREF(code);
        PyFrameObject *back = PyFrame_GetBack(frame);
        Py_DECREF(frame);
        if (back == NULL) {
            return 0;
        }
        frame = back;
    }
}

/* -- LockCore ---------------------------------------------------------------------------------- */

typedef struct {
    unsigned long ident;
    double requested;
    double acquired; /* NaN: the wait failed */
    double released;
    PyObject *code;  /* strong reference or NULL */
    int lasti;
    int contended;
    Py_ssize_t waiters;
} Event;

typedef struct {
    PyObject_HEAD
    PyThread_type_lock lock;
    unsigned long owner; /* 0: free */
    long depth;
    double requested_at;
    double acquired_at;
    int contended;
    PyObject *site_code;
    int site_lasti;
    unsigned long last_owner;
    unsigned long long gen_seen;
    long long acquisitions;
    long long contentions;
    long long timeouts;
    double lost;
    double since;
    long long apart_acquisitions; /* observers (try_acquire_apart): in no figure above or below */
    long long apart_busy;
    double apart_hold;
    Hist wait;
    Hist hold;
    Event *ring;
    Py_ssize_t ring_cap;
    Py_ssize_t ring_start;
    Py_ssize_t ring_len;
    PyObject *waiting; /* dict ident -> (thread name, since), kept by the Python slow path */
} LockCore;

static PyTypeObject LockCoreType;
static PyObject *event_tuple(Event *e);

/* Append one event; returns the code reference it evicted (to be released by the caller once the
 * lock is released: dropping a code object may run a weakref callback). */
static PyObject *
ring_push(LockCore *self, Event *ev)
{
    if (self->ring_len < self->ring_cap) {
        self->ring[(self->ring_start + self->ring_len) % self->ring_cap] = *ev;
        self->ring_len++;
        return NULL;
    }
    if (self->ring_cap >= ring_size) {
        /* full: overwrite the oldest */
        Event *slot = &self->ring[self->ring_start];
        PyObject *old = slot->code;
        *slot = *ev;
        self->ring_start = (self->ring_start + 1) % self->ring_cap;
        return old;
    }
    /* grow (the ring starts small: most lockables see few uses) */
    Py_ssize_t cap = self->ring_cap ? self->ring_cap * 2 : 64;
    if (cap > ring_size) {
        cap = ring_size;
    }
    Event *grown = PyMem_Malloc(sizeof(Event) * (size_t)cap);
    if (grown == NULL) {
        return ev->code; /* drop this event rather than fail a release */
    }
    for (Py_ssize_t i = 0; i < self->ring_len; i++) {
        grown[i] = self->ring[(self->ring_start + i) % self->ring_cap];
    }
    PyMem_Free(self->ring);
    self->ring = grown;
    self->ring_cap = cap;
    self->ring_start = 0;
    self->ring[self->ring_len++] = *ev;
    return NULL;
}

static void
ring_clear(LockCore *self)
{
    for (Py_ssize_t i = 0; i < self->ring_len; i++) {
        Py_CLEAR(self->ring[(self->ring_start + i) % self->ring_cap].code);
    }
    self->ring_len = 0;
    self->ring_start = 0;
}

static void
reset_counters(LockCore *self, double now)
{
    self->acquisitions = self->contentions = self->timeouts = 0;
    self->lost = 0.0;
    self->apart_acquisitions = self->apart_busy = 0;
    self->apart_hold = 0.0;
    memset(&self->wait, 0, sizeof(Hist));
    memset(&self->hold, 0, sizeof(Hist));
    self->since = now;
}

static PyObject *
LockCore_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    double now;
    if (mono_now(&now) < 0) {
        return NULL;
    }
    LockCore *self = (LockCore *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->lock = PyThread_allocate_lock();
    self->waiting = PyDict_New();
    if (self->lock == NULL || self->waiting == NULL) {
        Py_DECREF(self);
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_MemoryError, "cannot allocate a lock");
        }
        return NULL;
    }
    self->site_lasti = -1;
    reset_counters(self, now);
    return (PyObject *)self;
}

static int
LockCore_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    return 0; /* the Python subclass takes its own arguments */
}

static int
LockCore_traverse(LockCore *self, visitproc visit, void *arg)
{
    Py_VISIT(self->waiting);
    Py_VISIT(self->site_code);
    for (Py_ssize_t i = 0; i < self->ring_len; i++) {
        Py_VISIT(self->ring[(self->ring_start + i) % self->ring_cap].code);
    }
    return 0;
}

static int
LockCore_clear(LockCore *self)
{
    Py_CLEAR(self->waiting);
    Py_CLEAR(self->site_code);
    ring_clear(self);
    return 0;
}

static void
LockCore_dealloc(LockCore *self)
{
    PyObject_GC_UnTrack(self);
    LockCore_clear(self);
    PyMem_Free(self->ring);
    self->ring = NULL;
    if (self->lock != NULL) {
        if (self->owner != 0) {
            PyThread_release_lock(self->lock);
        }
        PyThread_free_lock(self->lock);
        self->lock = NULL;
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The acquire both `acquire()` and `with` use. Returns a new reference to True/False, or NULL. */
static PyObject *
lock_acquire(LockCore *self, int blocking, PyObject *timeout)
{
    unsigned long me = PyThread_get_thread_ident();
    if (self->owner == me) {
        self->depth++;
        Py_RETURN_TRUE;
    }
    if (note_if_new(me, &self->last_owner, &self->gen_seen) < 0) {
        return NULL;
    }
    if (PyThread_acquire_lock(self->lock, NOWAIT_LOCK)) {
        double now;
        PyObject *code;
        int lasti;
        if (mono_now(&now) < 0 || caller_site(&code, &lasti) < 0) {
            PyThread_release_lock(self->lock);
            return NULL;
        }
        self->owner = me;
        self->depth = 1;
        self->acquisitions++;
        self->requested_at = self->acquired_at = now;
        self->contended = 0;
        Py_XSETREF(self->site_code, code);
        self->site_lasti = lasti;
        Py_RETURN_TRUE;
    }
    PyObject *args[4] = {(PyObject *)self, NULL, blocking ? Py_True : Py_False, timeout};
    PyObject *ident = PyLong_FromUnsignedLong(me);
    if (ident == NULL) {
        return NULL;
    }
    args[1] = ident;
    PyObject *r = PyObject_VectorcallMethod(
        str_acquire_contended, args, 4 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    Py_DECREF(ident);
    return r;
}

static PyObject *minus_one = NULL;

static PyObject *
LockCore_acquire(LockCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *blocking = NULL, *timeout = NULL;
    if (nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "acquire() takes at most 2 arguments");
        return NULL;
    }
    if (nargs > 0) {
        blocking = args[0];
    }
    if (nargs > 1) {
        timeout = args[1];
    }
    if (kwnames != NULL) {
        Py_ssize_t nkw = PyTuple_GET_SIZE(kwnames);
        for (Py_ssize_t i = 0; i < nkw; i++) {
            PyObject *key = PyTuple_GET_ITEM(kwnames, i);
            PyObject **slot;
            if (PyUnicode_CompareWithASCIIString(key, "blocking") == 0) {
                slot = &blocking;
            }
            else if (PyUnicode_CompareWithASCIIString(key, "timeout") == 0) {
                slot = &timeout;
            }
            else {
                PyErr_Format(PyExc_TypeError, "acquire() got an unexpected keyword argument '%U'", key);
                return NULL;
            }
            if (*slot != NULL) {
                PyErr_Format(PyExc_TypeError, "acquire() got multiple values for argument '%U'", key);
                return NULL;
            }
            *slot = args[nargs + i];
        }
    }
    int block = 1;
    if (blocking != NULL) {
        block = PyObject_IsTrue(blocking);
        if (block < 0) {
            return NULL;
        }
    }
    if (timeout != NULL) {
        double t = PyFloat_AsDouble(timeout);
        if (t == -1.0 && PyErr_Occurred()) {
            return NULL;
        }
    }
    return lock_acquire(self, block, timeout != NULL ? timeout : minus_one);
}

static PyObject *
LockCore_enter(LockCore *self, PyObject *unused)
{
    return lock_acquire(self, 1, minus_one);
}

/* RuntimeError naming the lock: the calling thread does not hold it. Returns -1. */
static int
not_held(LockCore *self)
{
    PyObject *name = PyObject_GetAttr((PyObject *)self, str_name);
    if (name == NULL) {
        PyErr_Clear();
        name = PyUnicode_FromString("?");
        if (name == NULL) {
            return -1;
        }
    }
    PyErr_Format(PyExc_RuntimeError, "cannot release lock '%S': not held by this thread", name);
    Py_DECREF(name);
    return -1;
}

/* The ring event of the hold that ends at `now`. */
static void
held_event(LockCore *self, unsigned long me, double now, Event *ev)
{
    ev->ident = me;
    ev->requested = self->requested_at;
    ev->acquired = self->acquired_at;
    ev->released = now;
    ev->code = self->site_code;
    ev->lasti = self->site_lasti;
    ev->contended = self->contended;
    ev->waiters = self->waiting != NULL ? PyDict_GET_SIZE(self->waiting) : 0;
}

/* The last release's bookkeeping: the hold histogram and the ring event; the owner is cleared, the
 * raw lock stays taken. Returns what the ring evicted, to be dropped once the raw lock is free. */
static PyObject *
record_release(LockCore *self, Event *ev)
{
    hist_add(&self->hold, ev->released - ev->acquired);
    self->site_code = NULL; /* the reference moves into the ring */
    self->site_lasti = -1;
    PyObject *evicted = ring_push(self, ev);
    self->owner = 0;
    self->depth = 0;
    return evicted;
}

static int
lock_release(LockCore *self)
{
    unsigned long me = PyThread_get_thread_ident();
    if (self->owner != me || self->owner == 0) {
        return not_held(self);
    }
    if (self->depth > 1) {
        self->depth--;
        return 0;
    }
    double now;
    if (mono_now(&now) < 0) {
        return -1;
    }
    Event ev;
    held_event(self, me, now, &ev);
    PyObject *evicted = record_release(self, &ev);
    PyThread_release_lock(self->lock);
    Py_XDECREF(evicted);
    return 0;
}

static PyObject *
LockCore_release(LockCore *self, PyObject *unused)
{
    if (lock_release(self) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
LockCore_exit(LockCore *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (lock_release(self) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
LockCore_locked(LockCore *self, PyObject *unused)
{
    return PyBool_FromLong(self->owner != 0);
}

static PyObject *
LockCore_held_by_me(LockCore *self, PyObject *unused)
{
    return PyBool_FromLong(self->owner != 0 && self->owner == PyThread_get_thread_ident());
}

/* Block on the raw lock with the GIL released, as threading.Lock.acquire does (signal handlers
 * run while waiting; KeyboardInterrupt propagates). timeout < 0 waits forever, 0 tries once. */
static PyObject *
LockCore_wait_lock(LockCore *self, PyObject *arg)
{
    double timeout = PyFloat_AsDouble(arg);
    if (timeout == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    if (PyThread_acquire_lock_timed(self->lock, 0, 0) == PY_LOCK_ACQUIRED) {
        Py_RETURN_TRUE;
    }
    if (timeout == 0) {
        Py_RETURN_FALSE;
    }
    double deadline = 0.0, now;
    if (timeout > 0) {
        if (mono_now(&now) < 0) {
            return NULL;
        }
        deadline = now + timeout;
    }
    for (;;) {
        PY_TIMEOUT_T us = -1;
        if (timeout > 0) {
            if (mono_now(&now) < 0) {
                return NULL;
            }
            double left = deadline - now;
            if (left <= 0) {
                if (PyThread_acquire_lock_timed(self->lock, 0, 0) == PY_LOCK_ACQUIRED) {
                    Py_RETURN_TRUE;
                }
                Py_RETURN_FALSE;
            }
            double micro = ceil(left * 1e6);
            us = micro >= (double)PY_TIMEOUT_MAX ? PY_TIMEOUT_MAX : (PY_TIMEOUT_T)micro;
        }
        PyLockStatus r;
        Py_BEGIN_ALLOW_THREADS
        r = PyThread_acquire_lock_timed(self->lock, us, 1);
        Py_END_ALLOW_THREADS
        if (r == PY_LOCK_ACQUIRED) {
            Py_RETURN_TRUE;
        }
        if (r == PY_LOCK_INTR) {
            if (Py_MakePendingCalls() < 0) {
                return NULL;
            }
            continue;
        }
        if (timeout > 0) {
            continue; /* a timed wait capped at PY_TIMEOUT_MAX, or woken early: re-check */
        }
        Py_RETURN_FALSE;
    }
}

/* After a wait succeeded (the slow path, or a subclass that takes more than the raw lock): record
 * the holder and the acquisition, and the wait when it was contended. */
static PyObject *
LockCore_took(LockCore *self, PyObject *const *args, Py_ssize_t nargs)
{
    unsigned long me;
    double requested, acquired;
    int lasti, contended;
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "_took(me, requested, acquired, code, lasti, contended)");
        return NULL;
    }
    me = PyLong_AsUnsignedLong(args[0]);
    if (me == (unsigned long)-1 && PyErr_Occurred()) {
        return NULL;
    }
    requested = PyFloat_AsDouble(args[1]);
    if (requested == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    acquired = PyFloat_AsDouble(args[2]);
    if (acquired == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    lasti = (int)PyLong_AsLong(args[4]);
    if (lasti == -1 && PyErr_Occurred()) {
        return NULL;
    }
    contended = PyObject_IsTrue(args[5]);
    if (contended < 0) {
        return NULL;
    }
    self->owner = me;
    self->depth = 1;
    self->acquisitions++;
    self->requested_at = requested;
    self->acquired_at = acquired;
    self->contended = contended;
    Py_XSETREF(self->site_code, args[3] == Py_None ? NULL : Py_NewRef(args[3]));
    self->site_lasti = lasti;
    if (contended) {
        double waited = acquired - requested;
        self->contentions++;
        hist_add(&self->wait, waited);
        self->lost += waited;
    }
    Py_RETURN_NONE;
}

/* For a subclass that gives back more than the raw lock (a Redis lockable): the last release's
 * bookkeeping, returning its ring event as a tuple; the raw lock stays taken until _unlock(). */
static PyObject *
LockCore_release_held(LockCore *self, PyObject *unused)
{
    unsigned long me = PyThread_get_thread_ident();
    if (self->owner != me || me == 0) {
        not_held(self);
        return NULL;
    }
    if (self->depth != 1) {
        PyErr_SetString(PyExc_RuntimeError, "_release_held: only for the last level");
        return NULL;
    }
    double now;
    if (mono_now(&now) < 0) {
        return NULL;
    }
    Event ev;
    held_event(self, me, now, &ev);
    PyObject *raw = event_tuple(&ev);
    if (raw == NULL) {
        return NULL;
    }
    Py_XDECREF(record_release(self, &ev));
    return raw;
}

/* Free the raw lock taken by _wait_lock (and not recorded by _took) or kept by _release_held. */
static PyObject *
LockCore_unlock(LockCore *self, PyObject *unused)
{
    if (self->owner != 0) {
        PyErr_SetString(PyExc_RuntimeError, "_unlock: the lock has an owner (release it instead)");
        return NULL;
    }
    PyThread_release_lock(self->lock);
    Py_RETURN_NONE;
}

/* An observer's try (the studio's bridge): never waits; counted apart from the users' figures and
 * never in the ring, but the observer is the holder while it holds. */
static PyObject *
LockCore_try_acquire_apart(LockCore *self, PyObject *unused)
{
    unsigned long me = PyThread_get_thread_ident();
    if (self->owner == me) {
        self->depth++;
        Py_RETURN_TRUE;
    }
    if (note_if_new(me, &self->last_owner, &self->gen_seen) < 0) {
        return NULL;
    }
    if (!PyThread_acquire_lock(self->lock, NOWAIT_LOCK)) {
        self->apart_busy++;
        Py_RETURN_FALSE;
    }
    double now;
    PyObject *code;
    int lasti;
    if (mono_now(&now) < 0 || caller_site(&code, &lasti) < 0) {
        PyThread_release_lock(self->lock);
        return NULL;
    }
    self->owner = me;
    self->depth = 1;
    self->apart_acquisitions++;
    self->requested_at = self->acquired_at = now;
    self->contended = 0;
    Py_XSETREF(self->site_code, code);
    self->site_lasti = lasti;
    Py_RETURN_TRUE;
}

static PyObject *
LockCore_release_apart(LockCore *self, PyObject *unused)
{
    unsigned long me = PyThread_get_thread_ident();
    if (self->owner != me || me == 0) {
        not_held(self);
        return NULL;
    }
    if (self->depth > 1) {
        self->depth--;
        Py_RETURN_NONE;
    }
    double now;
    if (mono_now(&now) < 0) {
        return NULL;
    }
    self->apart_hold += now - self->acquired_at;
    PyObject *code = self->site_code;
    self->site_code = NULL;
    self->site_lasti = -1;
    self->owner = 0;
    self->depth = 0;
    PyThread_release_lock(self->lock);
    Py_XDECREF(code);
    Py_RETURN_NONE;
}

static PyObject *
LockCore_observer_counters(LockCore *self, PyObject *unused)
{
    return Py_BuildValue("(LLd)", self->apart_acquisitions, self->apart_busy, self->apart_hold);
}

/* A wait that failed (timeout or a non-blocking try): count it and add a ring event. */
static PyObject *
LockCore_failed(LockCore *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "_failed(me, requested, now)");
        return NULL;
    }
    unsigned long me = PyLong_AsUnsignedLong(args[0]);
    double requested = PyFloat_AsDouble(args[1]);
    double now = PyFloat_AsDouble(args[2]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    double waited = now - requested;
    self->timeouts++;
    self->contentions++;
    hist_add(&self->wait, waited);
    self->lost += waited;
    Event ev = {me, requested, NAN, now, NULL, -1, 1, 0};
    PyObject *evicted = ring_push(self, &ev);
    Py_XDECREF(evicted);
    Py_RETURN_NONE;
}

static PyObject *
event_tuple(Event *e)
{
    PyObject *acquired = isnan(e->acquired) ? Py_NewRef(Py_None) : PyFloat_FromDouble(e->acquired);
    if (acquired == NULL) {
        return NULL;
    }
    return Py_BuildValue("(kdNdOiOn)", e->ident, e->requested, acquired, e->released,
                         e->code != NULL ? e->code : Py_None, e->lasti,
                         e->contended ? Py_True : Py_False, e->waiters);
}

static PyObject *
LockCore_events_raw(LockCore *self, PyObject *unused)
{
    PyObject *out = PyList_New(self->ring_len);
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < self->ring_len; i++) {
        PyObject *t = event_tuple(&self->ring[(self->ring_start + i) % self->ring_cap]);
        if (t == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, t);
    }
    return out;
}

static PyObject *
LockCore_last_event_raw(LockCore *self, PyObject *unused)
{
    if (self->ring_len == 0) {
        Py_RETURN_NONE;
    }
    return event_tuple(&self->ring[(self->ring_start + self->ring_len - 1) % self->ring_cap]);
}

static PyObject *
LockCore_hold_raw(LockCore *self, PyObject *unused)
{
    if (self->owner == 0) {
        Py_RETURN_NONE;
    }
    return Py_BuildValue("(kdOidO)", self->owner, self->acquired_at,
                         self->site_code != NULL ? self->site_code : Py_None, self->site_lasti,
                         self->requested_at, self->contended ? Py_True : Py_False);
}

static PyObject *
LockCore_counters(LockCore *self, PyObject *unused)
{
    return Py_BuildValue("(LLLddNN)", self->acquisitions, self->contentions, self->timeouts, self->lost,
                         self->since, hist_tuple(&self->wait), hist_tuple(&self->hold));
}

static PyObject *
LockCore_reset_counters(LockCore *self, PyObject *unused)
{
    double now;
    if (mono_now(&now) < 0) {
        return NULL;
    }
    reset_counters(self, now);
    ring_clear(self);
    Py_RETURN_NONE;
}

static PyMethodDef LockCore_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))LockCore_acquire, METH_FASTCALL | METH_KEYWORDS,
     "acquire(blocking=True, timeout=-1) -> bool, as RLock.acquire: re-entrant; False when not acquired in time."},
    {"release", (PyCFunction)LockCore_release, METH_NOARGS,
     "Release one level; the last level records the hold. RuntimeError if not held by this thread."},
    {"__enter__", (PyCFunction)LockCore_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))LockCore_exit, METH_FASTCALL, NULL},
    {"locked", (PyCFunction)LockCore_locked, METH_NOARGS, "True while any thread holds it."},
    {"held_by_me", (PyCFunction)LockCore_held_by_me, METH_NOARGS, "True when the calling thread holds it."},
    {"_wait_lock", (PyCFunction)LockCore_wait_lock, METH_O, NULL},
    {"_took", (PyCFunction)(void (*)(void))LockCore_took, METH_FASTCALL, NULL},
    {"_failed", (PyCFunction)(void (*)(void))LockCore_failed, METH_FASTCALL, NULL},
    {"_release_held", (PyCFunction)LockCore_release_held, METH_NOARGS, NULL},
    {"_unlock", (PyCFunction)LockCore_unlock, METH_NOARGS, NULL},
    {"try_acquire_apart", (PyCFunction)LockCore_try_acquire_apart, METH_NOARGS,
     "Take the lock only if it is free now, counted apart from its users' figures (for observers)."},
    {"release_apart", (PyCFunction)LockCore_release_apart, METH_NOARGS,
     "Release what try_acquire_apart took. RuntimeError if not held by this thread."},
    {"_observer_counters", (PyCFunction)LockCore_observer_counters, METH_NOARGS, NULL},
    {"_events_raw", (PyCFunction)LockCore_events_raw, METH_NOARGS, NULL},
    {"_last_event_raw", (PyCFunction)LockCore_last_event_raw, METH_NOARGS, NULL},
    {"_hold_raw", (PyCFunction)LockCore_hold_raw, METH_NOARGS, NULL},
    {"_counters", (PyCFunction)LockCore_counters, METH_NOARGS, NULL},
    {"_reset_counters", (PyCFunction)LockCore_reset_counters, METH_NOARGS, NULL},
    {NULL},
};

static PyMemberDef LockCore_members[] = {
    {"_waiting", Py_T_OBJECT_EX, offsetof(LockCore, waiting), Py_READONLY, NULL},
    {"_owner", Py_T_ULONG, offsetof(LockCore, owner), Py_READONLY, NULL},
    {"_depth", Py_T_LONG, offsetof(LockCore, depth), Py_READONLY, NULL},
    {NULL},
};

static PyTypeObject LockCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "desktop_app.engine.hotpath._hotpath.LockCore",
    .tp_doc = "The compiled fast path of Lockable (see hotpath.pure.LockCore for the specification).",
    .tp_basicsize = sizeof(LockCore),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = LockCore_new,
    .tp_init = LockCore_init,
    .tp_dealloc = (destructor)LockCore_dealloc,
    .tp_traverse = (traverseproc)LockCore_traverse,
    .tp_clear = (inquiry)LockCore_clear,
    .tp_methods = LockCore_methods,
    .tp_members = LockCore_members,
};

/* -- Guard: `with server.lock():` on the global lockable, for the price of `with lockable:` ----- */

typedef struct {
    PyObject_HEAD
    LockCore *lock;
} Guard;

static PyObject *
Guard_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *lock;
    if (!PyArg_ParseTuple(args, "O!:Guard", &LockCoreType, &lock)) {
        return NULL;
    }
    Guard *self = (Guard *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->lock = (LockCore *)Py_NewRef(lock);
    }
    return (PyObject *)self;
}

static int
Guard_traverse(Guard *self, visitproc visit, void *arg)
{
    Py_VISIT(self->lock);
    return 0;
}

static int
Guard_clear(Guard *self)
{
    Py_CLEAR(self->lock);
    return 0;
}

static void
Guard_dealloc(Guard *self)
{
    PyObject_GC_UnTrack(self);
    Guard_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
Guard_enter(Guard *self, PyObject *unused)
{
    PyObject *got = lock_acquire(self->lock, 1, minus_one);
    if (got == NULL) {
        return NULL;
    }
    Py_DECREF(got); /* a blocking acquire without timeout always succeeds */
    return Py_NewRef((PyObject *)self->lock);
}

static PyObject *
Guard_exit(Guard *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (lock_release(self->lock) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef Guard_methods[] = {
    {"__enter__", (PyCFunction)Guard_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))Guard_exit, METH_FASTCALL, NULL},
    {NULL},
};

static PyMemberDef Guard_members[] = {
    {"lockable", Py_T_OBJECT_EX, offsetof(Guard, lock), Py_READONLY, "the lockable it holds"},
    {NULL},
};

static PyTypeObject GuardType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "desktop_app.engine.hotpath._hotpath.Guard",
    .tp_doc = "Guard(lockable): `with guard:` holds the lockable and gives it as the `as` target.",
    .tp_basicsize = sizeof(Guard),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = Guard_new,
    .tp_dealloc = (destructor)Guard_dealloc,
    .tp_traverse = (traverseproc)Guard_traverse,
    .tp_clear = (inquiry)Guard_clear,
    .tp_methods = Guard_methods,
    .tp_members = Guard_members,
};

/* -- Entry --------------------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *name;
    PyObject *value;
    PyObject *scope;
    long long version;
    double time;
    unsigned long thread; /* the writer's ident; thread_names resolves it when read */
} Entry;

static PyTypeObject EntryType;

static int
Entry_init(Entry *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"name", "value", "scope", "version", "time", "thread", NULL};
    PyObject *name, *value, *scope;
    long long version;
    double time;
    unsigned long thread;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOLdk:Entry", kwlist, &name, &value, &scope, &version,
                                     &time, &thread)) {
        return -1;
    }
    Py_XSETREF(self->name, Py_NewRef(name));
    Py_XSETREF(self->value, Py_NewRef(value));
    Py_XSETREF(self->scope, Py_NewRef(scope));
    self->version = version;
    self->time = time;
    self->thread = thread;
    return 0;
}

static int
Entry_traverse(Entry *self, visitproc visit, void *arg)
{
    Py_VISIT(self->name);
    Py_VISIT(self->value);
    Py_VISIT(self->scope);
    return 0;
}

static int
Entry_clear(Entry *self)
{
    Py_CLEAR(self->name);
    Py_CLEAR(self->value);
    Py_CLEAR(self->scope);
    return 0;
}

static void
Entry_dealloc(Entry *self)
{
    PyObject_GC_UnTrack(self);
    Py_TRASHCAN_BEGIN(self, Entry_dealloc)
    Entry_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
    Py_TRASHCAN_END
}

static PyMemberDef Entry_members[] = {
    {"name", Py_T_OBJECT_EX, offsetof(Entry, name), 0, NULL},
    {"value", Py_T_OBJECT_EX, offsetof(Entry, value), 0, NULL},
    {"scope", Py_T_OBJECT_EX, offsetof(Entry, scope), 0, NULL},
    {"version", Py_T_LONGLONG, offsetof(Entry, version), 0, NULL},
    {"time", Py_T_DOUBLE, offsetof(Entry, time), 0, NULL},
    {"thread", Py_T_ULONG, offsetof(Entry, thread), 0, NULL},
    {NULL},
};

static PyTypeObject EntryType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "desktop_app.engine.hotpath._hotpath.Entry",
    .tp_doc = "Entry(name, value, scope, version, time, thread): one state entry; thread is the writer's ident.",
    .tp_basicsize = sizeof(Entry),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Entry_init,
    .tp_dealloc = (destructor)Entry_dealloc,
    .tp_traverse = (traverseproc)Entry_traverse,
    .tp_clear = (inquiry)Entry_clear,
    .tp_members = Entry_members,
};

/* -- StoreCore ------------------------------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    PyObject *mutex;   /* a threading.Lock: the Python methods hold it with `with self.mutex:` */
    PyObject *entries; /* dict: casefolded name -> Entry */
    PyObject *ring;    /* deque(maxlen=ring_size) of (version, op, name, time, thread ident, old name) */
    long long version;
    unsigned long last_writer;
    unsigned long long gen_seen;
    PyObject *writer; /* writer_ident as an int object, reused by every record of that writer */
    unsigned long writer_ident;
    PyObject *change_events; /* tuple of threading.Event, set after every change (outside the mutex) */
} StoreCore;

static PyObject *
StoreCore_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    return type->tp_alloc(type, 0);
}

static PyObject *deque_type = NULL, *allocate_lock = NULL;

static int
StoreCore_init(StoreCore *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"ring_size", NULL};
    Py_ssize_t size;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "n:StoreCore", kwlist, &size)) {
        return -1;
    }
    PyObject *mutex = PyObject_CallNoArgs(allocate_lock);
    if (mutex == NULL) {
        return -1;
    }
    PyObject *entries = PyDict_New();
    PyObject *ring = NULL;
    if (entries != NULL) {
        ring = PyObject_CallFunction(deque_type, "(()n)", size);
    }
    if (ring == NULL) {
        Py_DECREF(mutex);
        Py_XDECREF(entries);
        return -1;
    }
    Py_XSETREF(self->mutex, mutex);
    Py_XSETREF(self->entries, entries);
    Py_XSETREF(self->ring, ring);
    Py_XSETREF(self->change_events, PyTuple_New(0));
    self->version = 0;
    return self->change_events == NULL ? -1 : 0;
}

static int
StoreCore_traverse(StoreCore *self, visitproc visit, void *arg)
{
    Py_VISIT(self->mutex);
    Py_VISIT(self->entries);
    Py_VISIT(self->ring);
    Py_VISIT(self->change_events);
    return 0;
}

static int
StoreCore_clear(StoreCore *self)
{
    Py_CLEAR(self->writer);
    Py_CLEAR(self->mutex);
    Py_CLEAR(self->entries);
    Py_CLEAR(self->ring);
    Py_CLEAR(self->change_events);
    return 0;
}

static void
StoreCore_dealloc(StoreCore *self)
{
    PyObject_GC_UnTrack(self);
    StoreCore_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
StoreCore_writer(StoreCore *self, PyObject *unused)
{
    unsigned long me = PyThread_get_thread_ident();
    if (note_if_new(me, &self->last_writer, &self->gen_seen) < 0) {
        return NULL;
    }
    return PyLong_FromUnsignedLong(me);
}

/* set(key, name, value, scope): create or replace one entry, record the change.
 *
 * Everything that can run Python code or trigger the cyclic GC (allocating GC-tracked objects,
 * calling the name registry) happens before the critical part. The critical part needs the
 * mutex only if a Python method holds it now: when it is free, running without the GIL ever
 * being released is the same as taking it. Dropping the replaced entry (which may run a
 * value's __del__) comes last. */
static PyObject *lock_locked = NULL, *lock_acquire_m = NULL, *lock_release_m = NULL, *deque_append = NULL;

static int
call_quiet(PyObject *callable, PyObject **args, size_t n)
{
    PyObject *r = PyObject_Vectorcall(callable, args, n, NULL);
    if (r == NULL) {
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

/* Set each change event that is not set yet (after a change, outside the mutex: runs Python code).
 * The tuple is swapped whole by add/remove_change_event, so the one read here stays valid. */
static int
store_changed(StoreCore *self)
{
    PyObject *events = self->change_events;
    if (events == NULL || (PyTuple_CheckExact(events) && PyTuple_GET_SIZE(events) == 0)) {
        return 0;
    }
    events = PySequence_Tuple(events);
    if (events == NULL) {
        return -1;
    }
    int rc = 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(events) && rc == 0; i++) {
        PyObject *event = PyTuple_GET_ITEM(events, i);
        PyObject *is = PyObject_CallMethodNoArgs(event, str_is_set);
        int already = is == NULL ? -1 : PyObject_IsTrue(is);
        Py_XDECREF(is);
        if (already < 0) {
            rc = -1;
        }
        else if (!already) {
            /* a reader still busy with the last change needs no second set() */
            PyObject *r = PyObject_CallMethodNoArgs(event, str_set);
            rc = r == NULL ? -1 : 0;
            Py_XDECREF(r);
        }
    }
    Py_DECREF(events);
    return rc;
}

static PyObject *
StoreCore_changed(StoreCore *self, PyObject *unused)
{
    if (store_changed(self) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static int
store_set(StoreCore *self, PyObject *key, PyObject *name, PyObject *value, PyObject *scope)
{
    if (self->entries == NULL || self->ring == NULL || self->mutex == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "store not initialised");
        return -1;
    }
    unsigned long me = PyThread_get_thread_ident();
    if (note_if_new(me, &self->last_writer, &self->gen_seen) < 0) {
        return -1;
    }
    /* The cached int is checked against its own ident, not last_writer: _writer() (the Python
     * methods') moves last_writer without it. Taken now: an allocation below may run a collection
     * (3.11) and with it Python code, during which another writer may swap the cache. */
    if (self->writer == NULL || self->writer_ident != me) {
        PyObject *w = PyLong_FromUnsignedLong(me);
        if (w == NULL) {
            return -1;
        }
        Py_XSETREF(self->writer, w);
        self->writer_ident = me;
    }
    PyObject *ident = Py_NewRef(self->writer);
    double now;
    if (wall_now(&now) < 0) {
        Py_DECREF(ident);
        return -1;
    }
    Entry *entry = PyObject_GC_New(Entry, &EntryType);
    if (entry == NULL) {
        Py_DECREF(ident);
        return -1;
    }
    entry->name = entry->value = entry->scope = NULL;
    PyObject *record = PyTuple_New(6);
    PyObject *when = PyFloat_FromDouble(now);
    /* Local copies: a callee may keep running (acquire() waits with the GIL released) while another
     * thread replaces the attributes. */
    PyObject *mutex = Py_NewRef(self->mutex);
    PyObject *ring = Py_NewRef(self->ring);
    PyObject *old = NULL;
    int must_lock = 0;
    if (record == NULL || when == NULL || ident == NULL) {
        goto fail;
    }
    /* -- critical part -- */
    PyObject *held = PyObject_Vectorcall(lock_locked, &mutex, 1, NULL);
    if (held == NULL) {
        goto fail;
    }
    must_lock = held == Py_True;
    Py_DECREF(held);
    if (must_lock && call_quiet(lock_acquire_m, &mutex, 1) < 0) {
        must_lock = 0;
        goto fail;
    }
    old = PyDict_GetItemWithError(self->entries, key); /* borrowed */
    if (old == NULL && PyErr_Occurred()) {
        goto fail;
    }
    Py_XINCREF(old);
    PyObject *shown = name;
    if (old != NULL) {
        if (!Py_IS_TYPE(old, &EntryType) || ((Entry *)old)->name == NULL) {
            PyErr_SetString(PyExc_TypeError, "the store holds an entry of another type");
            goto fail;
        }
        shown = ((Entry *)old)->name;
    }
    long long v = self->version + 1;
    PyObject *version = PyLong_FromLongLong(v);
    if (version == NULL) {
        goto fail;
    }
    PyTuple_SET_ITEM(record, 0, version);
    PyTuple_SET_ITEM(record, 1, Py_NewRef(str_set));
    PyTuple_SET_ITEM(record, 2, Py_NewRef(shown));
    PyTuple_SET_ITEM(record, 3, when);
    PyTuple_SET_ITEM(record, 4, ident);
    PyTuple_SET_ITEM(record, 5, Py_NewRef(Py_None));
    when = ident = NULL;
    entry->name = Py_NewRef(shown);
    entry->value = Py_NewRef(value);
    entry->scope = Py_NewRef(scope);
    entry->version = v;
    entry->time = now;
    entry->thread = me;
    PyObject_GC_Track(entry);
    PyObject *append_args[2] = {ring, record};
    if (call_quiet(deque_append, append_args, 2) < 0 || PyDict_SetItem(self->entries, key, (PyObject *)entry) < 0) {
        goto fail;
    }
    self->version = v;
    if (must_lock) {
        must_lock = 0;
        if (call_quiet(lock_release_m, &mutex, 1) < 0) {
            goto fail;
        }
    }
    Py_DECREF(mutex);
    Py_DECREF(ring);
    Py_DECREF(record);
    Py_DECREF(entry);
    int rc = store_changed(self);
    Py_XDECREF(old); /* last: may run a value's __del__ */
    return rc;

fail:
    if (must_lock) {
        SAVE_EXC(exc);
        PyObject *r = PyObject_Vectorcall(lock_release_m, &mutex, 1, NULL);
        Py_XDECREF(r);
        RESTORE_EXC(exc);
    }
    Py_XDECREF(when);
    Py_XDECREF(ident);
    Py_XDECREF(record);
    Py_DECREF(mutex);
    Py_DECREF(ring);
    Py_DECREF(entry);
    Py_XDECREF(old);
    return -1;
}

static PyObject *
StoreCore_set(StoreCore *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "set(key, name, value, scope)");
        return NULL;
    }
    if (store_set(self, args[0], args[1], args[2], args[3]) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef StoreCore_methods[] = {
    {"set", (PyCFunction)(void (*)(void))StoreCore_set, METH_FASTCALL,
     "set(key, name, value, scope): create or replace an entry (the shown name of an existing one is kept)."},
    {"_writer", (PyCFunction)StoreCore_writer, METH_NOARGS,
     "The calling thread's ident, after telling the name registry about a new writer."},
    {"_changed", (PyCFunction)StoreCore_changed, METH_NOARGS,
     "Set the change events that are not set yet (call after a change, outside the mutex)."},
    {NULL},
};

static PyMemberDef StoreCore_members[] = {
    {"mutex", Py_T_OBJECT_EX, offsetof(StoreCore, mutex), 0, NULL},
    {"entries", Py_T_OBJECT_EX, offsetof(StoreCore, entries), 0, NULL},
    {"ring", Py_T_OBJECT_EX, offsetof(StoreCore, ring), 0, NULL},
    {"version", Py_T_LONGLONG, offsetof(StoreCore, version), 0, NULL},
    {"change_events", Py_T_OBJECT_EX, offsetof(StoreCore, change_events), 0,
     "threading.Events set after every change (a tuple, swapped whole)"},
    {NULL},
};

static PyTypeObject StoreCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "desktop_app.engine.hotpath._hotpath.StoreCore",
    .tp_doc = "The compiled part of the in-memory store (see hotpath.pure.StoreCore).",
    .tp_basicsize = sizeof(StoreCore),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = StoreCore_new,
    .tp_init = (initproc)StoreCore_init,
    .tp_dealloc = (destructor)StoreCore_dealloc,
    .tp_traverse = (traverseproc)StoreCore_traverse,
    .tp_clear = (inquiry)StoreCore_clear,
    .tp_methods = StoreCore_methods,
    .tp_members = StoreCore_members,
};

/* -- SharedState.set / get without bytecode (state.py's methods are the specification) ------------ */

static PyObject *check_name_fn = NULL; /* state._check_name: raises the error for a bad name */
static PyObject *norm_scope_fn = NULL; /* state._norm_scope */
static PyObject *casefold_cache = NULL; /* exact str name -> its casefold(): a lookup beats casefold() */
#define CASEFOLD_CACHE_MAX 65536

/* Parse (args, kwnames) into out[0..n); out[i] keeps its default when not given. */
static int
parse_args(const char *fname, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, const char *const *names,
           int n, int required, PyObject **out)
{
    if (nargs > n) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %d arguments (%zd given)", fname, n, nargs);
        return -1;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        out[i] = args[i];
    }
    if (kwnames != NULL) {
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(kwnames); k++) {
            PyObject *key = PyTuple_GET_ITEM(kwnames, k);
            int slot = -1;
            for (int i = 0; i < n; i++) {
                if (PyUnicode_CompareWithASCIIString(key, names[i]) == 0) {
                    slot = i;
                    break;
                }
            }
            if (slot < 0) {
                PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", fname, key);
                return -1;
            }
            if (slot < nargs) {
                PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%U'", fname, key);
                return -1;
            }
            out[slot] = args[nargs + k];
        }
    }
    for (int i = 0; i < required; i++) {
        if (out[i] == NULL) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", fname, names[i]);
            return -1;
        }
    }
    return 0;
}

/* The casefolded key of a valid name (new reference), or NULL with the error the Python code raises. */
static PyObject *
state_key(PyObject *name)
{
    if (!PyUnicode_Check(name) || PyUnicode_GET_LENGTH(name) == 0) {
        if (check_name_fn == NULL) {
            PyErr_SetString(PyExc_ValueError, "a state entry needs a non-empty string name");
            return NULL;
        }
        PyObject *r = PyObject_CallOneArg(check_name_fn, name);
        if (r == NULL) {
            return NULL;
        }
        Py_DECREF(r);
    }
    if (!PyUnicode_CheckExact(name) || casefold_cache == NULL) {
        return PyObject_CallMethodNoArgs(name, str_casefold);
    }
    PyObject *key = PyDict_GetItemWithError(casefold_cache, name);
    if (key != NULL) {
        return Py_NewRef(key);
    }
    if (PyErr_Occurred()) {
        return NULL;
    }
    key = PyObject_CallMethodNoArgs(name, str_casefold);
    if (key == NULL) {
        return NULL;
    }
    if (PyDict_GET_SIZE(casefold_cache) >= CASEFOLD_CACHE_MAX) {
        PyDict_Clear(casefold_cache);
    }
    if (PyDict_SetItem(casefold_cache, name, key) < 0) {
        PyErr_Clear();
    }
    return key;
}

static PyObject *
state_set(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"name", "value", "scope"};
    PyObject *a[3] = {NULL, Py_None, Py_None};
    if (parse_args("set", args, nargs, kwnames, names, 3, 1, a) < 0) {
        return NULL;
    }
    PyObject *name = a[0], *value = a[1], *scope = a[2];
    PyObject *key = state_key(name);
    if (key == NULL) {
        return NULL;
    }
    PyObject *scopes;
    if (scope == Py_None) {
        scopes = PyList_New(0);
    }
    else if (PyUnicode_Check(scope)) {
        scopes = PyList_New(1);
        if (scopes != NULL) {
            PyList_SET_ITEM(scopes, 0, Py_NewRef(scope));
        }
    }
    else {
        scopes = PyObject_CallOneArg(norm_scope_fn, scope);
    }
    if (scopes == NULL) {
        Py_DECREF(key);
        return NULL;
    }
    PyObject *store = PyObject_GetAttr(self, str__store);
    int rc = -1;
    if (store != NULL) {
        if (PyObject_TypeCheck(store, &StoreCoreType)) {
            rc = store_set((StoreCore *)store, key, name, value, scopes);
        }
        else {
            PyObject *r = PyObject_CallMethodObjArgs(store, str_set, key, name, value, scopes, NULL);
            rc = r == NULL ? -1 : 0;
            Py_XDECREF(r);
        }
        Py_DECREF(store);
    }
    Py_DECREF(key);
    Py_DECREF(scopes);
    return rc < 0 ? NULL : Py_NewRef(value);
}

static PyObject *
state_get(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"name", "default", "with_scope"};
    PyObject *a[3] = {NULL, Py_None, Py_False};
    if (parse_args("get", args, nargs, kwnames, names, 3, 1, a) < 0) {
        return NULL;
    }
    PyObject *key = state_key(a[0]);
    if (key == NULL) {
        return NULL;
    }
    PyObject *store = PyObject_GetAttr(self, str__store);
    if (store == NULL) {
        Py_DECREF(key);
        return NULL;
    }
    PyObject *e;
    if (PyObject_TypeCheck(store, &StoreCoreType) && ((StoreCore *)store)->entries != NULL) {
        e = PyDict_GetItemWithError(((StoreCore *)store)->entries, key);
        if (e == NULL && PyErr_Occurred()) {
            Py_DECREF(store);
            Py_DECREF(key);
            return NULL;
        }
        Py_XINCREF(e);
    }
    else {
        e = PyObject_CallMethodOneArg(store, str_get, key);
        if (e == NULL) {
            Py_DECREF(store);
            Py_DECREF(key);
            return NULL;
        }
    }
    Py_DECREF(store);
    Py_DECREF(key);
    int with_scope = PyObject_IsTrue(a[2]);
    if (with_scope < 0) {
        Py_XDECREF(e);
        return NULL;
    }
    if (e == NULL || e == Py_None) {
        Py_XDECREF(e);
        return Py_NewRef(with_scope ? Py_None : a[1]);
    }
    PyObject *value, *scope = NULL;
    if (Py_IS_TYPE(e, &EntryType)) {
        value = Py_XNewRef(((Entry *)e)->value);
        if (with_scope) {
            scope = Py_XNewRef(((Entry *)e)->scope);
        }
        if (value == NULL || (with_scope && scope == NULL)) {
            PyErr_SetString(PyExc_AttributeError, "an entry without a value or scope");
        }
    }
    else {
        value = PyObject_GetAttr(e, str_value);
        if (with_scope && value != NULL) {
            scope = PyObject_GetAttr(e, str_scope);
        }
    }
    Py_DECREF(e);
    if (value == NULL || (with_scope && scope == NULL)) {
        Py_XDECREF(value);
        Py_XDECREF(scope);
        return NULL;
    }
    if (!with_scope) {
        return value;
    }
    PyObject *scopes = PySequence_List(scope);
    Py_DECREF(scope);
    if (scopes == NULL) {
        Py_DECREF(value);
        return NULL;
    }
    PyObject *out = PyDict_New();
    if (out == NULL || PyDict_SetItemString(out, "Value", value) < 0 || PyDict_SetItemString(out, "Scope", scopes) < 0) {
        Py_XDECREF(out);
        out = NULL;
    }
    Py_DECREF(value);
    Py_DECREF(scopes);
    return out;
}

static PyMethodDef state_set_def = {
    "set", (PyCFunction)(void (*)(void))state_set, METH_FASTCALL | METH_KEYWORDS,
    "set($self, /, name, value=None, scope=None)\n--\n\n"
    "SharedState.set without bytecode; state.py's SharedState.set is the specification."};
static PyMethodDef state_get_def = {
    "get", (PyCFunction)(void (*)(void))state_get, METH_FASTCALL | METH_KEYWORDS,
    "get($self, /, name, default=None, with_scope=False)\n--\n\n"
    "SharedState.get without bytecode; state.py's SharedState.get is the specification."};

/* Server.lock(): the no-argument call is the common one; it returns the server's global guard
 * without running bytecode. Anything else goes to the Python method (server.py, the specification). */
static PyObject *server_lock_fallback = NULL;
static PyObject *str__global_guard;

static PyObject *
server_lock(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    Py_ssize_t nkw = kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0;
    if (nargs == 0 && nkw == 0) {
        return PyObject_GetAttr(self, str__global_guard);
    }
    if (server_lock_fallback == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Server.lock is not configured");
        return NULL;
    }
    Py_ssize_t total = nargs + nkw;
    PyObject *small[8];
    PyObject **stack = total + 1 <= 8 ? small : PyMem_Malloc(sizeof(PyObject *) * (size_t)(total + 1));
    if (stack == NULL) {
        return PyErr_NoMemory();
    }
    stack[0] = self;
    for (Py_ssize_t i = 0; i < total; i++) {
        stack[i + 1] = args[i];
    }
    PyObject *r = PyObject_Vectorcall(server_lock_fallback, stack, (size_t)(nargs + 1), kwnames);
    if (stack != small) {
        PyMem_Free(stack);
    }
    return r;
}

static PyMethodDef server_lock_def = {
    "lock", (PyCFunction)(void (*)(void))server_lock, METH_FASTCALL | METH_KEYWORDS,
    "lock($self, /, target=None, *, timeout=None, check_global=False)\n--\n\n"
    "Server.lock: with no arguments, the global guard without bytecode; otherwise server.py's Server.lock."};

static PyObject *
configure_server(PyObject *module, PyObject *fallback)
{
    Py_XSETREF(server_lock_fallback, Py_NewRef(fallback));
    Py_RETURN_NONE;
}

static PyObject *
configure_state(PyObject *module, PyObject *args)
{
    PyObject *check, *norm;
    if (!PyArg_ParseTuple(args, "OO:configure_state", &check, &norm)) {
        return NULL;
    }
    Py_XSETREF(check_name_fn, Py_NewRef(check));
    Py_XSETREF(norm_scope_fn, Py_NewRef(norm));
    Py_RETURN_NONE;
}

/* -- the whole-state save: type scan fused with the chunk fill ------------------------------------- */

/* 1: JSON data a "pode" file holds as it is; 0: look closer (the exact checker names the culprit). */
static int
clean_value(PyObject *o, int depth)
{
    PyTypeObject *t = Py_TYPE(o);
    if (t == &PyUnicode_Type || t == &PyLong_Type || t == &PyBool_Type || o == Py_None) {
        return 1; /* ints beyond 64 bits make orjson fail, which also leads to the exact checker */
    }
    if (t == &PyFloat_Type) {
        return isfinite(PyFloat_AS_DOUBLE(o));
    }
    if (t == &PyDict_Type || t == &PyList_Type || t == &PyTuple_Type) {
        if (depth >= max_depth) {
            return 0; /* too deep, or a container that holds itself */
        }
        if (t == &PyDict_Type) {
            Py_ssize_t pos = 0;
            PyObject *k, *v;
            while (PyDict_Next(o, &pos, &k, &v)) {
                if (!PyUnicode_CheckExact(k) || !clean_value(v, depth + 1)) {
                    return 0;
                }
            }
            return 1;
        }
        Py_ssize_t n = t == &PyList_Type ? PyList_GET_SIZE(o) : PyTuple_GET_SIZE(o);
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *item = t == &PyList_Type ? PyList_GET_ITEM(o, i) : PyTuple_GET_ITEM(o, i);
            if (!clean_value(item, depth + 1)) {
                return 0;
            }
        }
        return 1;
    }
    return 0; /* UUID, Enum, datetime, set, subclasses... orjson would write some of them */
}

static int
clean_scope(PyObject *scope)
{
    PyTypeObject *t = Py_TYPE(scope);
    if (t != &PyList_Type && t != &PyTuple_Type) {
        return 0;
    }
    Py_ssize_t n = t == &PyList_Type ? PyList_GET_SIZE(scope) : PyTuple_GET_SIZE(scope);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *s = t == &PyList_Type ? PyList_GET_ITEM(scope, i) : PyTuple_GET_ITEM(scope, i);
        if (!PyUnicode_CheckExact(s)) {
            return 0;
        }
    }
    return 1;
}

static PyObject *str_Value, *str_Scope;

/* fill_chunk(entries, start, stop, pool, out) -> -1 when entries[start:stop] are clean and `out` holds
 * {name: wrapper} with pool[i - start] = {"Value": value, "Scope": scope}; otherwise the index of
 * the first entry to look at closely (`out` is then incomplete). */
static PyObject *
fill_chunk(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyList_CheckExact(args[0]) || !PyList_CheckExact(args[3]) || !PyDict_CheckExact(args[4])) {
        PyErr_SetString(PyExc_TypeError, "fill_chunk(entries: list, start, stop, pool: list, out: dict)");
        return NULL;
    }
    PyObject *entries = args[0], *pool = args[3], *out = args[4];
    Py_ssize_t start = PyLong_AsSsize_t(args[1]);
    Py_ssize_t stop = PyLong_AsSsize_t(args[2]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    if (start < 0 || stop > PyList_GET_SIZE(entries) || stop - start > PyList_GET_SIZE(pool)) {
        PyErr_SetString(PyExc_IndexError, "fill_chunk: range outside the entries or the pool");
        return NULL;
    }
    for (Py_ssize_t i = start; i < stop; i++) {
        PyObject *item = PyList_GET_ITEM(entries, i);
        if (!Py_IS_TYPE(item, &EntryType)) {
            return PyLong_FromSsize_t(i);
        }
        Entry *e = (Entry *)item;
        if (e->name == NULL || e->value == NULL || e->scope == NULL || !PyUnicode_CheckExact(e->name) ||
            !clean_scope(e->scope) || !clean_value(e->value, 0)) {
            return PyLong_FromSsize_t(i);
        }
        PyObject *wrapper = PyList_GET_ITEM(pool, i - start);
        if (!PyDict_CheckExact(wrapper)) {
            PyErr_SetString(PyExc_TypeError, "fill_chunk: the pool must hold dicts");
            return NULL;
        }
        if (PyDict_SetItem(wrapper, str_Value, e->value) < 0 || PyDict_SetItem(wrapper, str_Scope, e->scope) < 0 ||
            PyDict_SetItem(out, e->name, wrapper) < 0) {
            return NULL;
        }
    }
    return PyLong_FromLong(-1);
}

/* -- module -------------------------------------------------------------------------------------- */

static PyObject *
configure(PyObject *module, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"bounds", "ring_size", "skip_files", "note_thread", "max_depth", NULL};
    PyObject *bounds_seq, *skip, *note;
    Py_ssize_t ring;
    int depth;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OnOOi:configure", kwlist, &bounds_seq, &ring, &skip, &note,
                                     &depth)) {
        return NULL;
    }
    PyObject *fast = PySequence_Fast(bounds_seq, "bounds must be a sequence of floats");
    if (fast == NULL) {
        return NULL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    if (n < 1 || n > MAX_BUCKETS) {
        Py_DECREF(fast);
        PyErr_Format(PyExc_ValueError, "between 1 and %d histogram bounds", MAX_BUCKETS);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        double b = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(fast, i));
        if (b == -1.0 && PyErr_Occurred()) {
            Py_DECREF(fast);
            return NULL;
        }
        bounds[i] = b;
    }
    Py_DECREF(fast);
    if (ring < 1) {
        PyErr_SetString(PyExc_ValueError, "ring_size must be at least 1");
        return NULL;
    }
    if (!PyFrozenSet_Check(skip)) {
        PyErr_SetString(PyExc_TypeError, "skip_files must be a frozenset");
        return NULL;
    }
    n_buckets = (int)n;
    ring_size = ring;
    max_depth = depth;
    Py_XSETREF(skip_files, Py_NewRef(skip));
    Py_XSETREF(note_thread, note == Py_None ? NULL : Py_NewRef(note));
    for (int i = 0; i < SKIP_CACHE; i++) {
        Py_CLEAR(skip_code[i]);
    }
    Py_RETURN_NONE;
}

static PyObject *
bump_generation(PyObject *module, PyObject *unused)
{
    generation++;
    Py_RETURN_NONE;
}

static PyObject *
get_generation(PyObject *module, PyObject *unused)
{
    return PyLong_FromUnsignedLongLong(generation);
}

static PyObject *
monotonic(PyObject *module, PyObject *unused)
{
    double now;
    if (mono_now(&now) < 0) {
        return NULL;
    }
    return PyFloat_FromDouble(now);
}

static PyObject *
wall(PyObject *module, PyObject *unused)
{
    double now;
    if (wall_now(&now) < 0) {
        return NULL;
    }
    return PyFloat_FromDouble(now);
}

static PyMethodDef module_methods[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "configure(bounds, ring_size, skip_files, note_thread, max_depth): set once by hotpath/__init__.py."},
    {"bump_generation", bump_generation, METH_NOARGS, "A thread ended: every cached writer/owner ident is stale."},
    {"generation", get_generation, METH_NOARGS, "How many times bump_generation was called, plus one."},
    {"monotonic", monotonic, METH_NOARGS, "The clock lock times use (the same as time.monotonic())."},
    {"wall", wall, METH_NOARGS, "The clock entry times use (the same as time.time())."},
    {"configure_server", configure_server, METH_O,
     "configure_server(lock): the Python Server.lock that server_lock defers to when given arguments."},
    {"configure_state", configure_state, METH_VARARGS,
     "configure_state(check_name, norm_scope): the Python helpers state_set/state_get defer to."},
    {"fill_chunk", (PyCFunction)(void (*)(void))fill_chunk, METH_FASTCALL,
     "fill_chunk(entries, start, stop, pool, out) -> -1, or the index of the first entry to check closely."},
    {NULL},
};

static struct PyModuleDef hotpath_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "desktop_app.engine.hotpath._hotpath",
    .m_doc = "Compiled hot paths of the engine (the pure-Python twin is desktop_app.engine.hotpath.pure).",
    .m_size = -1,
    .m_methods = module_methods,
};

#define INTERN(var, text)                          \
    do {                                           \
        var = PyUnicode_InternFromString(text);    \
        if (var == NULL) {                         \
            return NULL;                           \
        }                                          \
    } while (0)

PyMODINIT_FUNC
PyInit__hotpath(void)
{
    INTERN(str_acquire_contended, "_acquire_contended");
    INTERN(str_name, "name");
    INTERN(str_co_filename, "co_filename");
    INTERN(str_set, "set");
    INTERN(str__store, "_store");
    INTERN(str__global_guard, "_global_guard");
    INTERN(str_casefold, "casefold");
    INTERN(str_get, "get");
    INTERN(str_value, "value");
    INTERN(str_scope, "scope");
    INTERN(str_is_set, "is_set");
    INTERN(str_Value, "Value");
    INTERN(str_Scope, "Scope");
    minus_one = PyFloat_FromDouble(-1.0);
    if (minus_one == NULL) {
        return NULL;
    }
    PyObject *collections = PyImport_ImportModule("collections");
    if (collections == NULL) {
        return NULL;
    }
    deque_type = PyObject_GetAttrString(collections, "deque");
    Py_DECREF(collections);
    PyObject *thread = PyImport_ImportModule("_thread");
    if (thread == NULL) {
        return NULL;
    }
    allocate_lock = PyObject_GetAttrString(thread, "allocate_lock");
    Py_DECREF(thread);
    PyObject *time_mod = PyImport_ImportModule("time");
    if (time_mod == NULL) {
        return NULL;
    }
    py_monotonic = PyObject_GetAttrString(time_mod, "monotonic");
    py_time = PyObject_GetAttrString(time_mod, "time");
    Py_DECREF(time_mod);
    if (deque_type == NULL || allocate_lock == NULL || py_monotonic == NULL || py_time == NULL) {
        return NULL;
    }
    /* Unbound methods, called with the object as first argument: no lookup per call. */
    PyObject *sample = PyObject_CallNoArgs(allocate_lock);
    if (sample == NULL) {
        return NULL;
    }
    PyObject *lock_type = (PyObject *)Py_TYPE(sample);
    lock_locked = PyObject_GetAttrString(lock_type, "locked");
    lock_acquire_m = PyObject_GetAttrString(lock_type, "acquire");
    lock_release_m = PyObject_GetAttrString(lock_type, "release");
    Py_DECREF(sample);
    deque_append = PyObject_GetAttrString(deque_type, "append");
    if (lock_locked == NULL || lock_acquire_m == NULL || lock_release_m == NULL || deque_append == NULL) {
        return NULL;
    }
    if (PyType_Ready(&LockCoreType) < 0 || PyType_Ready(&GuardType) < 0 || PyType_Ready(&EntryType) < 0 ||
        PyType_Ready(&StoreCoreType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&hotpath_module);
    if (m == NULL) {
        return NULL;
    }
    casefold_cache = PyDict_New();
    if (casefold_cache == NULL) {
        Py_DECREF(m);
        return NULL;
    }
    /* Method descriptors on `object`: they bind to any instance like a function (SharedState). */
    PyObject *set_descr = PyDescr_NewMethod(&PyBaseObject_Type, &state_set_def);
    PyObject *get_descr = PyDescr_NewMethod(&PyBaseObject_Type, &state_get_def);
    PyObject *lock_descr = PyDescr_NewMethod(&PyBaseObject_Type, &server_lock_def);
    int failed = set_descr == NULL || get_descr == NULL || lock_descr == NULL ||
                 PyModule_AddObjectRef(m, "state_set", set_descr) < 0 ||
                 PyModule_AddObjectRef(m, "state_get", get_descr) < 0 ||
                 PyModule_AddObjectRef(m, "server_lock", lock_descr) < 0;
    Py_XDECREF(set_descr);
    Py_XDECREF(get_descr);
    Py_XDECREF(lock_descr);
    if (failed) {
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddObjectRef(m, "LockCore", (PyObject *)&LockCoreType) < 0 ||
        PyModule_AddObjectRef(m, "Guard", (PyObject *)&GuardType) < 0 ||
        PyModule_AddObjectRef(m, "Entry", (PyObject *)&EntryType) < 0 ||
        PyModule_AddObjectRef(m, "StoreCore", (PyObject *)&StoreCoreType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
