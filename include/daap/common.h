/**
 * @file daap/common.h
 * @brief Export and declaration macros shared by every public header.
 */
#ifndef DAAP_COMMON_H
#define DAAP_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
# define DAAP_BEGIN_DECL extern "C" {
# define DAAP_END_DECL   }
#else
# define DAAP_BEGIN_DECL
# define DAAP_END_DECL
#endif

#if defined(_WIN32)
# if defined(DAAP_BUILDING_LIBRARY)
#  define DAAP_EXTERN(type) extern __declspec(dllexport) type
# else
#  define DAAP_EXTERN(type) extern __declspec(dllimport) type
# endif
#elif defined(__GNUC__)
# define DAAP_EXTERN(type) extern __attribute__((visibility("default"))) type
#else
# define DAAP_EXTERN(type) extern type
#endif

#if defined(__GNUC__)
# define DAAP_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
# define DAAP_DEPRECATED        __attribute__((deprecated))
#else
# define DAAP_PRINTF(fmt, args)
# define DAAP_DEPRECATED
#endif

#endif
