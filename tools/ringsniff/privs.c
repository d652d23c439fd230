/* privs.c - --user: give up root once every socket and file is open. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>

#include "ringsniff.h"

/* Switch to opts.user with no capability left.  Nothing ringsniff does after
 * set-up needs one: the rings are mapped, the sockets and BPF map fds are
 * open, kernel statistics are a getsockopt on an open socket, and the log
 * files are handed to the user so SIGHUP can reopen them.  Returns 0, or a
 * negative errno after saying why. */
int rs_drop_privileges(struct rs_app *app)
{
	const char *user = app->opts.user;
	if (!user)
		return 0;
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		fprintf(stderr, "ringsniff: --user %s: %s\n", user,
			errno ? strerror(errno) : "no such user");
		return -EINVAL;
	}
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	if (rs_sink_chown(&app->http_sink, uid, gid) < 0 ||
	    rs_sink_chown(&app->flow_sink, uid, gid) < 0 ||
	    (app->summary_fp && fchown(fileno(app->summary_fp), uid, gid) < 0)) {
		fprintf(stderr, "ringsniff: --user %s: cannot hand the logs over: %s\n",
			user, strerror(errno));
		return -errno;
	}
	/* Order matters: groups and gid while we still may change them. */
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
		int e = errno;
		fprintf(stderr, "ringsniff: --user %s: %s\n", user, strerror(e));
		return -e;
	}
	/* A non-root uid after setuid() from root holds no capabilities; make
	 * sure nothing (setuid binaries, file caps) can give any back. */
	if (uid != 0 && (setuid(0) == 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)) {
		fprintf(stderr, "ringsniff: --user %s: privileges could not be dropped\n", user);
		return -EPERM;
	}
	return 0;
}
