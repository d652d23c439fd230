/* bpf_impl.h - private helpers shared by the bpf library's sources. */
#ifndef RS_BPF_IMPL_H
#define RS_BPF_IMPL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* Format an error message into the caller's buffer, if it gave one. */
__attribute__((format(printf, 3, 4)))
static inline void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

#endif /* RS_BPF_IMPL_H */
