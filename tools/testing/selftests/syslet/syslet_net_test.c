// SPDX-License-Identifier: GPL-2.0
/*
 * Network chains over TCP loopback, IPv4 and IPv6: one async_exec() that
 * makes a socket, connects, sends, receives and closes, the socket fed
 * from atom to atom; a connect that is refused stops the chain; and an
 * accept loop whose connections are served by threadlets.
 *
 * Blocking is forced, never waited for: a server answers only after the
 * test has seen the chain move, and clients send only after the test has
 * seen every threadlet move. Each of those waits is bounded, so a chain
 * that cannot move fails the test instead of hanging it.
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include "../kselftest_harness.h"
#include "syslet_lend.h"

/* A loopback address of @family with port 0, for bind(). */
static socklen_t loopback(int family, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = family;
	if (family == AF_INET6) {
		((struct sockaddr_in6 *)ss)->sin6_addr = in6addr_loopback;
		return sizeof(struct sockaddr_in6);
	}
	((struct sockaddr_in *)ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof(struct sockaddr_in);
}

/*
 * A TCP socket bound to a free loopback port, listening when @backlog is
 * positive; its address goes to @ss. -1 on error.
 */
static int tcp_bound(int family, int backlog, struct sockaddr_storage *ss,
		     socklen_t *len)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	*len = loopback(family, ss);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)ss, *len) ||
	    getsockname(fd, (struct sockaddr *)ss, len) ||
	    (backlog > 0 && listen(fd, backlog))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Wait at most 10 s for a byte on @fd; 1 when one came. */
static int await_byte(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char c;

	return poll(&pfd, 1, 10 * 1000) == 1 && read(fd, &c, 1) == 1;
}

/* A one-connection server: takes "ping", answers "pong" when told to. */
struct pong_server {
	int listener;
	int go[2];		/* the test writes a byte: answer now */
	int told;		/* the answer came after the go, not the timeout */
	char request[4];
	int saw_eof;		/* the client closed after the answer */
	pthread_t thread;
};

static void *pong_serve(void *arg)
{
	struct pong_server *s = arg;
	int fd = accept(s->listener, NULL, NULL);
	char c;

	if (fd < 0)
		return NULL;
	if (recv(fd, s->request, sizeof(s->request), MSG_WAITALL) ==
	    sizeof(s->request)) {
		s->told = await_byte(s->go[0]);
		if (send(fd, "pong", 4, 0) == 4)
			s->saw_eof = recv(fd, &c, 1, 0) == 0;
	}
	close(fd);
	return NULL;
}

/*
 * socket -> connect -> sendto -> recvfrom -> close, each stopping the chain
 * when it fails; every atom's arguments are pointers, so the socket that
 * the first atom returns is the first argument of the others.
 */
struct tcp_chain {
	__u64 family, type, proto;
	__u64 addr, addrlen;
	__u64 out, out_len, flags;
	__u64 in, in_len;
	char in_buf[4];
	__s64 ret[5];
	struct syslet_uatom a[5];
};

enum { SOCKET, CONNECT, SEND, RECV, CLOSE };

static void tcp_chain_init(struct tcp_chain *c, int family,
			   const struct sockaddr_storage *to, socklen_t len)
{
	const __u64 *fd = (const __u64 *)&c->ret[SOCKET];
	int i;

	memset(c, 0, sizeof(*c));
	c->family = family;
	c->type = SOCK_STREAM;
	c->addr = uptr(to);
	c->addrlen = len;
	c->out = uptr("ping");
	c->out_len = 4;
	c->flags = MSG_WAITALL;
	c->in = uptr(c->in_buf);
	c->in_len = sizeof(c->in_buf);
	for (i = 0; i < 5; i++)
		c->ret[i] = SENTINEL;
	ATOM3(&c->a[SOCKET], __NR_socket, &c->ret[SOCKET], &c->a[CONNECT],
	      SYSLET_STOP_ON_NEGATIVE, &c->family, &c->type, &c->proto);
	ATOM3(&c->a[CONNECT], __NR_connect, &c->ret[CONNECT], &c->a[SEND],
	      SYSLET_STOP_ON_NEGATIVE, fd, &c->addr, &c->addrlen);
	atom_set(&c->a[SEND], __NR_sendto, &c->ret[SEND], &c->a[RECV],
		 SYSLET_STOP_ON_NEGATIVE, fd, &c->out, &c->out_len, NULL,
		 NULL, NULL);
	atom_set(&c->a[RECV], __NR_recvfrom, &c->ret[RECV], &c->a[CLOSE],
		 SYSLET_STOP_ON_NEGATIVE, fd, &c->in, &c->in_len, &c->flags,
		 NULL, NULL);
	ATOM1(&c->a[CLOSE], __NR_close, &c->ret[CLOSE], NULL, 0, fd);
}

FIXTURE(tcp) {
	struct async_head_user ahu;
	__u64 slots[4];
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct tcp_chain chain;
};

FIXTURE_VARIANT(tcp) {
	int family;
};

FIXTURE_VARIANT_ADD(tcp, ipv4) {
	.family = AF_INET,
};

FIXTURE_VARIANT_ADD(tcp, ipv6) {
	.family = AF_INET6,
};

FIXTURE_SETUP(tcp)
{
	ring_init(&self->ahu, self->slots, 4);
}

FIXTURE_TEARDOWN(tcp)
{
}

TEST_F(tcp, chain_blocks_in_recv_and_completes_at_the_close)
{
	struct pong_server s = { 0 };
	pid_t me = gettid();

	s.listener = tcp_bound(variant->family, 1, &self->addr, &self->addrlen);
	ASSERT_LE(0, s.listener);
	ASSERT_EQ(0, pipe(s.go));
	ASSERT_EQ(0, pthread_create(&s.thread, NULL, pong_serve, &s));
	tcp_chain_init(&self->chain, variant->family, &self->addr,
		       self->addrlen);

	/* The server holds its answer back: the recv must block. */
	EXPECT_EQ(0, async_exec(&self->chain.a[SOCKET], &self->ahu));
	EXPECT_EQ(me, gettid());
	EXPECT_EQ(1, write(s.go[1], "g", 1));
	EXPECT_EQ(uptr(&self->chain.a[CLOSE]),
		  ring_next(&self->ahu, self->slots, 4));
	pthread_join(s.thread, NULL);

	EXPECT_TRUE(s.told);
	EXPECT_LE(0, self->chain.ret[SOCKET]);
	EXPECT_EQ(0, self->chain.ret[CONNECT]);
	EXPECT_EQ(4, self->chain.ret[SEND]);
	EXPECT_EQ(0, memcmp(s.request, "ping", 4));
	EXPECT_EQ(4, self->chain.ret[RECV]);
	EXPECT_EQ(0, memcmp(self->chain.in_buf, "pong", 4));
	EXPECT_EQ(0, self->chain.ret[CLOSE]);
	EXPECT_TRUE(s.saw_eof);
	EXPECT_EQ(0, self->ahu.sync_chains);
	/* The chain's close closed the socket: the descriptor is free. */
	EXPECT_EQ(-1, fcntl(self->chain.ret[SOCKET], F_GETFD));
	close(s.listener);
	close(s.go[0]);
	close(s.go[1]);
}

TEST_F(tcp, refused_connect_stops_the_chain)
{
	/* Bound, not listening: a connect is answered with a reset. */
	int closed_port = tcp_bound(variant->family, 0, &self->addr,
				    &self->addrlen);
	struct tcp_chain *c = &self->chain;
	long last;

	ASSERT_LE(0, closed_port);
	tcp_chain_init(c, variant->family, &self->addr, self->addrlen);
	last = async_exec(&c->a[SOCKET], &self->ahu);
	/* A reset that arrives late may make the connect sleep and move. */
	if (last == 0)
		last = ring_next(&self->ahu, self->slots, 4);
	EXPECT_EQ(uptr(&c->a[CONNECT]), last);
	EXPECT_LE(0, c->ret[SOCKET]);
	EXPECT_EQ(-ECONNREFUSED, c->ret[CONNECT]);
	EXPECT_EQ(SENTINEL, c->ret[SEND]);
	EXPECT_EQ(SENTINEL, c->ret[RECV]);
	EXPECT_EQ(SENTINEL, c->ret[CLOSE]);
	/* The close never ran: the socket is the caller's to close. */
	EXPECT_EQ(0, close(c->ret[SOCKET]));
	close(closed_port);
}

/*
 * An accept loop that serves each connection with a threadlet: read a
 * number, answer its square, close. The clients send only once every
 * threadlet has moved, so each one blocks in its read.
 */
#define CLIENTS 8

struct square_client {
	const struct sockaddr_storage *addr;
	socklen_t addrlen;
	int go;			/* read end: send when a byte arrives */
	long x;
	int ok;
};

static void *square_client(void *arg)
{
	struct square_client *c = arg;
	int fd = socket(c->addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	long y = 0;

	if (fd < 0)
		return NULL;
	if (!connect(fd, (const struct sockaddr *)c->addr, c->addrlen)) {
		await_byte(c->go);
		if (send(fd, &c->x, sizeof(c->x), 0) == sizeof(c->x) &&
		    recv(fd, &y, sizeof(y), MSG_WAITALL) == sizeof(y))
			c->ok = y == c->x * c->x;
	}
	close(fd);
	return NULL;
}

struct square_job {
	int fd;
	pid_t tid_after;
};

static long serve_square(void *arg)
{
	struct square_job *j = arg;
	long x;

	if (recv(j->fd, &x, sizeof(x), MSG_WAITALL) == sizeof(x)) {
		x *= x;
		if (send(j->fd, &x, sizeof(x), 0) != sizeof(x))
			x = 0;
	}
	j->tid_after = gettid();
	close(j->fd);
	return 0;
}

TEST_F(tcp, accept_loop_served_by_threadlets)
{
	static struct pool p;
	struct square_client clients[CLIENTS];
	struct square_job jobs[CLIENTS];
	pthread_t threads[CLIENTS];
	int listener, go[2], i, moved = 0, served = 0, seen[CLIENTS] = { 0 };
	pid_t me = gettid();

	listener = tcp_bound(variant->family, CLIENTS, &self->addr,
			     &self->addrlen);
	ASSERT_LE(0, listener);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pool_start(&p, CLIENTS));
	for (i = 0; i < CLIENTS; i++) {
		clients[i] = (struct square_client) {
			.addr = &self->addr, .addrlen = self->addrlen,
			.go = go[0], .x = i + 2,
		};
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, square_client,
					    &clients[i]));
	}

	for (i = 0; i < CLIENTS; i++) {
		jobs[i].fd = accept(listener, NULL, NULL);
		jobs[i].tid_after = 0;
		ASSERT_LE(0, jobs[i].fd);
		moved += threadlet_exec(serve_square, &jobs[i], &p.ahu,
					i + 1) == 0;
		EXPECT_EQ(me, gettid());
	}
	/* Every request blocked, so every threadlet went to a lent thread. */
	EXPECT_EQ(CLIENTS, moved);
	EXPECT_EQ(0, p.ahu.sync_chains);

	for (i = 0; i < CLIENTS; i++)
		ASSERT_EQ(1, write(go[1], "g", 1));
	for (i = 0; i < moved; i++) {
		__u64 v = ring_next(&p.ahu, p.slots, RING);

		ASSERT_TRUE(v >= 1 && v <= CLIENTS);
		seen[v - 1]++;
	}
	for (i = 0; i < CLIENTS; i++) {
		pthread_join(threads[i], NULL);
		served += clients[i].ok;
		EXPECT_EQ(1, seen[i]);
		/* It finished as the lent thread it moved to. */
		EXPECT_NE(NULL, lender_of(&p, jobs[i].tid_after));
	}
	EXPECT_EQ(CLIENTS, served);
	EXPECT_EQ(CLIENTS, pool_stop(&p));
	close(listener);
	close(go[0]);
	close(go[1]);
}

TEST_HARNESS_MAIN
