// Linked into the executables that run the SystemC kernel (smmu-sim, sc_* tests)
// when built with -DSMMUSIM_SANITIZE=ON (docs/robustness.md, "Sanitizers").
// SystemC 2.3's QuickThreads coroutines get their stacks from `new char[]` and
// mprotect() a guard page inside that heap block; LeakSanitizer's exit-time scan
// of the heap then faults on it ("Tracer caught signal 11") now and then. Leak
// detection is therefore off in these processes only; AddressSanitizer and
// UBSan stay on, and the plain-C++ unit tests keep leak detection. An
// ASAN_OPTIONS set in the environment still overrides this default.
extern "C" const char* __asan_default_options() { return "detect_leaks=0"; }
