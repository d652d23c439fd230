/* driver.c - replay inputs through a libFuzzer harness without libFuzzer.
 *
 * Linked with a harness in builds whose compiler has no -fsanitize=fuzzer
 * (gcc): runs LLVMFuzzerTestOneInput once per file named on the command
 * line, or per regular file in a directory named there (not recursive), in
 * name order so runs are reproducible.  Each input is copied into a heap
 * buffer of exactly its size, as libFuzzer does, so ASan sees any read past
 * the end.  Exits 0 when every input ran (a harness that finds a bug aborts
 * the process), 1 when an argument could not be read, or 77 (skip) when
 * there was nothing to run at all.
 */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Bigger inputs are a mistake in a corpus dir, not something to replay. */
#define FZ_MAX_INPUT (16u << 20)

static int run_file(const char *path, unsigned long *ran)
{
	struct stat st;
	uint8_t *buf = NULL;
	FILE *fp;
	int rc = -1;

	fp = fopen(path, "rb");
	if (!fp) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(fp), &st) < 0 || st.st_size > FZ_MAX_INPUT) {
		fprintf(stderr, "%s: unreadable or larger than %u bytes\n", path,
			FZ_MAX_INPUT);
		goto out;
	}
	/* malloc(0) may return NULL; libFuzzer passes a valid pointer. */
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf)
		goto out;
	if (st.st_size && fread(buf, 1, (size_t)st.st_size, fp) !=
	    (size_t)st.st_size) {
		fprintf(stderr, "%s: short read\n", path);
		goto out;
	}
	fprintf(stderr, "Running: %s (%lld bytes)\n", path,
		(long long)st.st_size);
	LLVMFuzzerTestOneInput(buf, (size_t)st.st_size);
	(*ran)++;
	rc = 0;
out:
	free(buf);
	fclose(fp);
	return rc;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, unsigned long *ran)
{
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	DIR *d;

	d = opendir(dir);
	if (!d) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		char **nn;

		if (de->d_name[0] == '.')   /* ., .., .gitkeep, editor files */
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			nn = realloc(names, cap * sizeof(*names));
			if (!nn) {
				rc = -1;
				goto out;
			}
			names = nn;
		}
		if (asprintf(&names[n], "%s/%s", dir, de->d_name) < 0) {
			rc = -1;
			goto out;
		}
		n++;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (stat(names[i], &st) == 0 && !S_ISREG(st.st_mode))
			continue;
		if (run_file(names[i], ran) < 0)
			rc = -1;
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned long ran = 0;
	int rc = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (argv[i][0] == '-')      /* libFuzzer flags: ignored here */
			continue;
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			rc = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (run_dir(argv[i], &ran) < 0)
				rc = 1;
		} else if (run_file(argv[i], &ran) < 0) {
			rc = 1;
		}
	}
	fprintf(stderr, "%s: %lu inputs ran\n", argv[0], ran);
	if (rc == 0 && ran == 0)
		return 77;
	return rc;
}
