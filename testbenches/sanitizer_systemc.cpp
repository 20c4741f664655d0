// Linked into the executables that run the SystemC kernel (smmu-sim, sc_* tests)
// when built with -DSMMUSIM_SANITIZE=ON (docs/robustness.md, "Sanitizers").
// It adapts AddressSanitizer to Debian's SystemC 2.3.4, which is not
// instrumented; nothing here is built into a normal build.
#include <dlfcn.h>
#include <pthread.h>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>

#include <unwind.h>

// SystemC 2.3's QuickThreads coroutine stacks carry an mprotect()ed guard
// page; LeakSanitizer's exit-time scan faults on it ("Tracer caught signal
// 11") now and then. Leak
// detection is therefore off in these processes only; AddressSanitizer and
// UBSan stay on, and the plain-C++ unit tests keep leak detection. An
// ASAN_OPTIONS set in the environment still overrides this default.
extern "C" const char* __asan_default_options() { return "detect_leaks=0"; }

// Stack bounds. ASan unpoisons the frames an exception unwinds
// (__asan_handle_no_return, called from its _Unwind_RaiseException
// interceptor: every throw and std::rethrow_exception) between
// the throw and the top of the stack it believes the thread is on. Debian's
// libsystemc tells ASan of its coroutine switches through weak references
// (sc_cor_pkg_qt::yield: __sanitizer_start_switch_fiber(nullptr, next->m_stack,
// next->m_stack_size); sc_cor_qt_yieldhelp: __sanitizer_finish_switch_fiber
// (nullptr, nullptr, nullptr)) but
//  - its main coroutine's m_stack is never learned (yieldhelp passes no
//    bottom_old), so every switch back to the kernel's scheduler announces a
//    [0, 0) stack, and
//  - sc_cor_pkg_qt::abort (a thread that returns) switches unannounced, so
//    the next coroutine runs under the ended thread's bounds.
// An exception on such a stack (a trace error rethrown after sc_start, say)
// was "ignored" (google/sanitizers#189): the unwound frames kept their
// redzones poisoned and later calls reusing that stack reported false
// stack-buffer-overflows (in ~Host, boost::iostreams' destructors...).
// The two definitions below, found before libasan's by the dynamic linker,
// give ASan the right bounds: the main thread's real stack for the [0, 0)
// announcement, and at each throw the stack the thrower is really on.
namespace {

using StartSwitchFn = void (*)(void**, const void*, std::size_t);
using RaiseFn = _Unwind_Reason_Code (*)(_Unwind_Exception*);

struct Stacks {
    std::uintptr_t main_bottom = 0;
    std::size_t main_size = 0;
    std::map<std::uintptr_t, std::size_t> coroutines;  // bottom -> size, as libsystemc announced them
    StartSwitchFn start_switch = reinterpret_cast<StartSwitchFn>(dlsym(RTLD_NEXT, "__sanitizer_start_switch_fiber"));
    RaiseFn raise = reinterpret_cast<RaiseFn>(dlsym(RTLD_NEXT, "_Unwind_RaiseException"));

    Stacks() {
        // The kernel runs on the process's main thread (sc_main).
        pthread_attr_t attr;
        void* bottom = nullptr;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            pthread_attr_getstack(&attr, &bottom, &main_size);
            pthread_attr_destroy(&attr);
        }
        main_bottom = reinterpret_cast<std::uintptr_t>(bottom);
    }

    // The stack holding `sp`: main's or a coroutine's libsystemc announced;
    // false for any other (a coroutine only ever entered by abort).
    bool find(std::uintptr_t sp, std::uintptr_t& bottom, std::size_t& size) const {
        if (sp - main_bottom < main_size) {
            bottom = main_bottom;
            size = main_size;
            return true;
        }
        auto it = coroutines.upper_bound(sp);
        if (it == coroutines.begin()) return false;
        --it;
        if (sp - it->first >= it->second) return false;
        bottom = it->first;
        size = it->second;
        return true;
    }
};

Stacks& stacks() {
    static Stacks s;
    return s;
}

}  // namespace

extern "C" void __sanitizer_finish_switch_fiber(void* fake_stack_save, const void** bottom_old, std::size_t* size_old);

extern "C" void __sanitizer_start_switch_fiber(void** fake_stack_save, const void* bottom, std::size_t size) {
    Stacks& s = stacks();
    if (bottom == nullptr && size == 0) {
        bottom = reinterpret_cast<const void*>(s.main_bottom);  // libsystemc's main coroutine
        size = s.main_size;
    } else {
        s.coroutines[reinterpret_cast<std::uintptr_t>(bottom)] = size;
    }
    s.start_switch(fake_stack_save, bottom, size);
}

extern "C" _Unwind_Reason_Code _Unwind_RaiseException(_Unwind_Exception* exception) {
    Stacks& s = stacks();
    std::uintptr_t bottom = 0;
    std::size_t size = 0;
    if (s.find(reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0)), bottom, size)) {
        // A switch to the stack we are on, keeping its fake stack.
        void* fake = nullptr;
        s.start_switch(&fake, reinterpret_cast<const void*>(bottom), size);
        __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
    }
    return s.raise(exception);  // libasan's interceptor: __asan_handle_no_return, then libgcc's unwinder
}
