// Symbol visibility for libcamure: everything is hidden unless marked CAMURE_API.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define CAMURE_API __attribute__((visibility("default")))
#else
#define CAMURE_API
#endif
