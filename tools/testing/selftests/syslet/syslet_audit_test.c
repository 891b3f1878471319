// SPDX-License-Identifier: GPL-2.0
/*
 * Audit sees every atom as a system call of its own. The test registers as
 * the audit daemon, adds a syscall rule for its own pid, runs a chain and
 * reads the AUDIT_SYSCALL records back over netlink.
 *
 * The guest boots with audit=1, so every task has an audit context and
 * every chain in the other tests also goes through the audit entry and
 * exit work (a mistake there WARNs, which fails the run).
 */
#include <linux/audit.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "../kselftest_harness.h"
#include "syslet_test.h"

#define MAX_RECORDS 16

struct audit_conn {
	int fd;
	unsigned int seq;
};

static int audit_request(struct audit_conn *c, int type, const void *data,
			 size_t len)
{
	struct {
		struct nlmsghdr nlh;
		char payload[sizeof(struct audit_rule_data) + 64];
	} req = { };
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	char buf[8192];

	req.nlh.nlmsg_len = NLMSG_LENGTH(len);
	req.nlh.nlmsg_type = type;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.nlh.nlmsg_seq = ++c->seq;
	memcpy(NLMSG_DATA(&req.nlh), data, len);
	if (sendto(c->fd, &req, req.nlh.nlmsg_len, 0,
		   (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;

	/* Skip records until the acknowledgment of this request. */
	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;

		if (n < 0)
			return -errno;
		for (; NLMSG_OK(nlh, n); nlh = NLMSG_NEXT(nlh, n)) {
			if (nlh->nlmsg_type == NLMSG_ERROR &&
			    nlh->nlmsg_seq == c->seq)
				return ((struct nlmsgerr *)NLMSG_DATA(nlh))->error;
		}
	}
}

static void rule_for(struct audit_rule_data *rule, pid_t pid,
		     const int *nrs, int count)
{
	int i;

	memset(rule, 0, sizeof(*rule));
	rule->flags = AUDIT_FILTER_EXIT;
	rule->action = AUDIT_ALWAYS;
	for (i = 0; i < count; i++)
		rule->mask[nrs[i] / 32] |= 1U << (nrs[i] % 32);
	rule->field_count = 2;
	rule->fields[0] = AUDIT_ARCH;
	rule->values[0] = AUDIT_ARCH_X86_64;
	rule->fieldflags[0] = AUDIT_EQUAL;
	rule->fields[1] = AUDIT_PID;
	rule->values[1] = pid;
	rule->fieldflags[1] = AUDIT_EQUAL;
}

static int become_auditd(struct audit_conn *c, pid_t pid)
{
	struct audit_status status = {
		.mask = AUDIT_STATUS_ENABLED | AUDIT_STATUS_PID,
		.enabled = 1,
		.pid = pid,
	};

	return audit_request(c, AUDIT_SET, &status, sizeof(status));
}

/* Collect "syscall=... exit=..." of each AUDIT_SYSCALL record of @pid. */
static int read_syscall_records(struct audit_conn *c, pid_t pid, long *nr,
				long *exit_val, int want)
{
	struct timeval tv = { .tv_sec = 2 };
	char buf[8192];
	int got = 0;

	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (got < want) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;

		if (n < 0)
			break;
		for (; NLMSG_OK(nlh, n) && got < want; nlh = NLMSG_NEXT(nlh, n)) {
			char *text = NLMSG_DATA(nlh), *p;
			long record_pid;

			if (nlh->nlmsg_type != AUDIT_SYSCALL)
				continue;
			text[nlh->nlmsg_len - NLMSG_HDRLEN - 1] = '\0';
			p = strstr(text, " pid=");
			if (!p || sscanf(p, " pid=%ld", &record_pid) != 1 ||
			    record_pid != pid)
				continue;
			p = strstr(text, " syscall=");
			if (!p || sscanf(p, " syscall=%ld", &nr[got]) != 1)
				continue;
			p = strstr(text, " exit=");
			if (!p || sscanf(p, " exit=%ld", &exit_val[got]) != 1)
				continue;
			got++;
		}
	}
	return got;
}

/* Run a getppid, getpid chain once told to; exit 0 if it completed. */
static int chain_child(int go)
{
	struct async_head_user ahu = head_plain();
	struct syslet_uatom a[2];
	__s64 r[2];
	char c;

	if (read(go, &c, 1) != 1)
		return 120;
	ATOM0(&a[0], __NR_getppid, &r[0], &a[1], 0);
	ATOM0(&a[1], __NR_getpid, &r[1], NULL, 0);
	return async_exec(a, &ahu) == (long)uptr(&a[1]) ? 0 : 121;
}

/*
 * The audit daemon's own system calls are never audited, so the chain runs
 * in a child, and the rule names the child's pid.
 */
TEST(audit_records_each_atom)
{
	static const int audited[] = { __NR_async_exec, __NR_getppid,
				       __NR_getpid };
	struct sockaddr_nl self_addr = { .nl_family = AF_NETLINK };
	struct audit_rule_data rule;
	struct audit_conn c = { };
	long nr[MAX_RECORDS], exit_val[MAX_RECORDS];
	int got, ret, status, go[2];
	pid_t child;

	c.fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT);
	if (c.fd < 0)
		SKIP(return, "no NETLINK_AUDIT: %s", strerror(errno));
	ASSERT_EQ(0, bind(c.fd, (struct sockaddr *)&self_addr, sizeof(self_addr)));
	ret = become_auditd(&c, getpid());
	if (ret == -EPERM)
		SKIP(return, "not allowed to control audit");
	ASSERT_EQ(0, ret);

	ASSERT_EQ(0, pipe(go));
	child = fork();
	ASSERT_LE(0, child);
	if (!child)
		_exit(chain_child(go[0]));
	rule_for(&rule, child, audited, 3);
	ASSERT_EQ(0, audit_request(&c, AUDIT_ADD_RULE, &rule, sizeof(rule)));
	ASSERT_EQ(1, write(go[1], "g", 1));
	got = read_syscall_records(&c, child, nr, exit_val, 3);
	ASSERT_EQ(child, waitpid(child, &status, 0));

	EXPECT_EQ(0, audit_request(&c, AUDIT_DEL_RULE, &rule, sizeof(rule)));
	EXPECT_EQ(0, become_auditd(&c, 0));
	close(c.fd);

	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(3, got);
	/* async_exec's own record is closed as "accepted" before the atoms. */
	EXPECT_EQ(__NR_async_exec, nr[0]);
	EXPECT_EQ(0, exit_val[0]);
	EXPECT_EQ(__NR_getppid, nr[1]);
	EXPECT_EQ(getpid(), exit_val[1]);
	EXPECT_EQ(__NR_getpid, nr[2]);
	EXPECT_EQ(child, exit_val[2]);
}

TEST_HARNESS_MAIN
