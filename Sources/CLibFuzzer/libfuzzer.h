// libFuzzer's driver entry, for callbridge-fuzz built with -sanitize=fuzzer
// (the toolchain's libclang_rt.fuzzer defines it). SwiftPM gives every Linux
// executable its own `main`, so libFuzzer's is not used: ours calls this.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
