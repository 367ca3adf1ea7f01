/*
 * test_open.c - shm_init and shm_arena_open: file names, optional_addr,
 * concurrent creation, and the files that must be refused.
 */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "alloc_test_util.h"

static char path[256];

static void setup(void) { tmp_path(path, sizeof path, "arena"); }
static void teardown(void) { shm_deinit(); tmp_cleanup(path); }

TestSuite(open, .init = setup, .fini = teardown);

static int open_rw(const char *p)
{
	struct shm_arena a;
	int err = shm_arena_open(&a, p, SHM_OPEN_CREATE, NULL);
	shm_arena_close(&a);
	return err;
}

/* Makes a valid arena file at path, then patches bytes of its header. */
static void make_and_patch(size_t at, const void *bytes, size_t n)
{
	cr_assert_eq(open_rw(path), SHM_OK);
	int fd = open(path, O_RDWR);
	cr_assert_eq(pwrite(fd, bytes, n, (off_t)at), (ssize_t)n);
	close(fd);
}

Test(open, env_variable_and_explicit_name)
{
	unsetenv(SHM_PATH_ENV_NAME);
	cr_assert_not(shm_init(NULL, NULL));
	cr_assert_eq(shm_last_error(), SHM_E_NOPATH);
	setenv(SHM_PATH_ENV_NAME, path, 1);
	cr_assert(shm_init(NULL, NULL), "%s", shm_strerror(shm_last_error()));
	shm_offt o = shm_malloc(10);
	strcpy(SHM_OFFT_TO_ADDR(o), "via env");
	shm_deinit();
	unsetenv(SHM_PATH_ENV_NAME);
	cr_assert(shm_init(NULL, path));
	cr_assert_str_eq(SHM_OFFT_TO_ADDR(o), "via env");
}

Test(open, optional_addr_maps_exactly_there)
{
	size_t len = get_mapping_size_needed_by_shm();
	void *probe = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);
	cr_assert_neq(probe, MAP_FAILED);
	munmap(probe, len);
	cr_assert(shm_init(probe, path), "%s", shm_strerror(shm_last_error()));
	unsigned char *base = get_shm_user_base();
	cr_assert_eq(base - (unsigned char *)probe,
		     (ptrdiff_t)(len - SHM_NULL_REGION_SIZE - MAX_ALLOCATABLE_SHM_SIZE));
	shm_offt o = shm_malloc(16);
	/* a child maps it again at the same address and sees the same data */
	strcpy(SHM_OFFT_TO_ADDR(o), "same");
	shm_deinit();
	pid_t pid = fork();
	if (pid == 0) {
		bool ok = shm_init(probe, path) && get_shm_user_base() == base &&
			  strcmp((char *)base + o, "same") == 0;
		_exit(ok ? 0 : 1);
	}
	int st;
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* an address that is taken is refused, never clobbered */
	void *taken = mmap(probe, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);
	cr_assert_not(shm_init(taken, path));
	cr_assert_eq(shm_last_error(), SHM_E_MAP);
	cr_assert_not(shm_init((char *)probe + 1, path));
	cr_assert_eq(shm_last_error(), SHM_E_ADDR);
	munmap(taken, 4096);
}

Test(open, refuses_other_settings_version_magic)
{
	uint32_t other_min = MIN_ALLOC_POW2 + 1;
	make_and_patch(offsetof(struct shm_file_header, min_pow2), &other_min, 4);
	cr_assert_eq(open_rw(path), SHM_E_SETTINGS);
	cr_assert_not(shm_init(NULL, path));
	cr_assert_eq(shm_last_error(), SHM_E_SETTINGS);
	unlink(path);
	uint64_t other_arena = 2 * (uint64_t)MAX_ALLOCATABLE_SHM_SIZE;
	make_and_patch(offsetof(struct shm_file_header, arena_size), &other_arena, 8);
	cr_assert_eq(open_rw(path), SHM_E_SETTINGS);
	unlink(path);
	uint32_t v = SHM_LAYOUT_VERSION + 1;
	make_and_patch(offsetof(struct shm_file_header, layout_version), &v, 4);
	cr_assert_eq(open_rw(path), SHM_E_VERSION);
	unlink(path);
	make_and_patch(0, "NOTSHMEM", 8);
	cr_assert_eq(open_rw(path), SHM_E_MAGIC);
	/* the refused file is left as it was */
	char m[8];
	int fd = open(path, O_RDONLY);
	cr_assert_eq(pread(fd, m, 8, 0), 8);
	close(fd);
	cr_assert_eq(memcmp(m, "NOTSHMEM", 8), 0);
}

Test(open, refuses_file_of_other_size_made_elsewhere)
{
	/* a header of another build (bigger arena) on a file of its size */
	cr_assert_eq(open_rw(path), SHM_OK);
	uint64_t other_arena = 2 * (uint64_t)MAX_ALLOCATABLE_SHM_SIZE;
	int fd = open(path, O_RDWR);
	pwrite(fd, &other_arena, 8, offsetof(struct shm_file_header, arena_size));
	cr_assert_eq(ftruncate(fd, (off_t)get_mapping_size_needed_by_shm() + 65536), 0);
	close(fd);
	cr_assert_eq(open_rw(path), SHM_E_SETTINGS);
}

Test(open, refuses_truncated_and_small_files)
{
	cr_assert_eq(open_rw(path), SHM_OK);
	cr_assert_eq(truncate(path, (off_t)get_mapping_size_needed_by_shm() / 2), 0);
	cr_assert_eq(open_rw(path), SHM_E_SIZE);
	/* a file smaller than a header is refused, never mapped */
	unlink(path);
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	cr_assert_eq(write(fd, "junk", 4), 4);
	close(fd);
	cr_assert_not(shm_init(NULL, path));
	cr_assert_eq(shm_last_error(), SHM_E_SIZE);
	cr_assert_null(get_shm_user_base());
	cr_assert_eq(shm_malloc(8), SHM_NULL);
}

Test(open, refuses_symlink_mode_notreg)
{
	char target[300];
	snprintf(target, sizeof target, "%s.real", path);
	cr_assert_eq(open_rw(target), SHM_OK);
	cr_assert_eq(symlink(target, path), 0);
	cr_assert_eq(open_rw(path), SHM_E_SYMLINK);
	unlink(path);
	cr_assert_eq(chmod(target, 0620), 0);
	cr_assert_eq(open_rw(target), SHM_E_MODE);
	cr_assert_eq(chmod(target, 0606), 0);
	cr_assert_eq(open_rw(target), SHM_E_MODE);
	unlink(target);
	cr_assert_eq(mkfifo(path, 0600), 0);
	cr_assert_eq(open_rw(path), SHM_E_NOTREG);
	unlink(path);
	/* created 0600 whatever the umask */
	mode_t old = umask(0);
	cr_assert_eq(open_rw(path), SHM_OK);
	umask(old);
	struct stat st;
	stat(path, &st);
	cr_assert_eq(st.st_mode & 0777, 0600);
}

Test(open, refuses_other_owner_when_root)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to chown");
	struct passwd *pw = getpwnam("nobody");
	cr_assert_not_null(pw);
	cr_assert_eq(open_rw(path), SHM_OK);
	cr_assert_eq(chown(path, pw->pw_uid, pw->pw_gid), 0);
	cr_assert_eq(open_rw(path), SHM_E_OWNER);
	cr_assert_not(shm_init(NULL, path));
	cr_assert_eq(shm_last_error(), SHM_E_OWNER);
}

Test(open, read_only_open_never_writes)
{
	struct shm_arena ro;
	cr_assert_eq(shm_arena_open(&ro, path, SHM_OPEN_RDONLY, NULL), SHM_E_OPEN);
	cr_assert_eq(open_rw(path), SHM_OK);
	cr_assert(shm_init(NULL, path));
	shm_offt o = shm_malloc(300);
	cr_assert_eq(shm_arena_open(&ro, path, SHM_OPEN_RDONLY, NULL), SHM_OK);
	cr_assert_eq(shm_arena_malloc(&ro, 8), SHM_NULL);
	shm_arena_free(&ro, o);
	struct shm_stats st;
	cr_assert_eq(shm_arena_stats(&ro, &st), SHM_OK);
	cr_assert_eq(st.bytes_in_use, 512);
	cr_assert_eq(st.blocks_in_use[9 - MIN_ALLOC_POW2], 1);
	cr_assert_eq(st.bad_frees, 0);
	shm_arena_close(&ro);
}

/* The header page of a real arena file zeroed (or left in a state no
 * published file has): damage, refused at once by every opener, and the
 * bytes are left exactly as they were. */
Test(open, damaged_header_refused_at_once_never_rewritten)
{
	static unsigned char zero[4096], page[4096];
	make_and_patch(0, zero, sizeof zero);
	struct shm_arena ro;
	cr_assert_eq(shm_arena_open(&ro, path, SHM_OPEN_RDONLY, NULL),
		     SHM_E_CORRUPT);
	cr_assert_eq(open_rw(path), SHM_E_CORRUPT);
	cr_assert_not(shm_init(NULL, path));
	cr_assert_eq(shm_last_error(), SHM_E_CORRUPT);
	int fd = open(path, O_RDONLY);
	cr_assert_eq(pread(fd, page, sizeof page, 0), (ssize_t)sizeof page);
	close(fd);
	cr_assert_eq(memcmp(page, zero, sizeof page), 0, "header rewritten");
	unlink(path);
	/* a header whose fields are right but whose state is not READY */
	uint32_t s = 2u | (12345u << 2);
	make_and_patch(offsetof(struct shm_file_header, init_state), &s, 4);
	cr_assert_eq(open_rw(path), SHM_E_CORRUPT);
	uint32_t now = 0;
	fd = open(path, O_RDONLY);
	cr_assert_eq(pread(fd, &now, 4, offsetof(struct shm_file_header,
						  init_state)), 4);
	close(fd);
	cr_assert_eq(now, s);
}

/* A file found at the name is never formatted: an empty one is refused. */
Test(open, empty_existing_file_refused)
{
	int fd = open(path, O_CREAT | O_RDWR, 0600);
	close(fd);
	cr_assert_eq(open_rw(path), SHM_E_SIZE);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, 0);
}

Test(open, refuses_a_file_with_another_hard_link)
{
	char other[300];
	snprintf(other, sizeof other, "%s.link", path);
	cr_assert_eq(open_rw(path), SHM_OK);
	cr_assert_eq(link(path, other), 0);
	struct shm_arena ro;
	cr_assert_eq(shm_arena_open(&ro, path, SHM_OPEN_RDONLY, NULL),
		     SHM_E_LINKS);
	cr_assert_eq(open_rw(path), SHM_E_LINKS);
	cr_assert_eq(open_rw(other), SHM_E_LINKS);
	cr_assert_not(shm_init(NULL, path));
	cr_assert_eq(shm_last_error(), SHM_E_LINKS);
	cr_assert_str_eq(shm_strerror(SHM_E_LINKS), "the file has more than "
			 "one hard link (another name could change it)");
	cr_assert_eq(unlink(other), 0);
	cr_assert_eq(open_rw(path), SHM_OK);
}

/* Creation leaves no temporary name behind. */
Test(open, creation_leaves_only_the_file)
{
	char dir[300];
	snprintf(dir, sizeof dir, "%s.d", path);
	cr_assert_eq(mkdir(dir, 0700), 0);
	char file[400];
	snprintf(file, sizeof file, "%s/arena", dir);
	cr_assert_eq(open_rw(file), SHM_OK);
	DIR *d = opendir(dir);
	int n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			n++;
			cr_assert_str_eq(e->d_name, "arena");
		}
	closedir(d);
	cr_assert_eq(n, 1);
	unlink(file);
	rmdir(dir);
}

#define RACERS 8

Test(open, racing_creators_all_succeed)
{
	int go[2];
	cr_assert_eq(pipe(go), 0);
	pid_t pids[RACERS];
	for (int i = 0; i < RACERS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			char c;
			close(go[1]);
			if (read(go[0], &c, 1) != 0)
				_exit(3);
			struct shm_arena a;
			if (shm_arena_open(&a, path, SHM_OPEN_CREATE, NULL) != SHM_OK)
				_exit(1);
			shm_offt o = shm_arena_malloc(&a, 64);
			_exit(o == SHM_NULL ? 2 : 0);
		}
	}
	close(go[0]);
	close(go[1]);  /* EOF releases every racer at once */
	for (int i = 0; i < RACERS; i++) {
		int st;
		waitpid(pids[i], &st, 0);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "racer %d: %d", i,
			  WEXITSTATUS(st));
	}
	struct shm_arena a;
	cr_assert_eq(shm_arena_open(&a, path, SHM_OPEN_RDONLY, NULL), SHM_OK);
	struct shm_stats st;
	shm_arena_stats(&a, &st);
	cr_assert_eq(st.blocks_in_use[6 - MIN_ALLOC_POW2], RACERS);
	shm_arena_close(&a);
}

static void *init_thread(void *arg)
{
	(void)arg;
	shm_init(NULL, path);
	return NULL;
}

Test(open, racing_threads_publish_once)
{
	pthread_t t[RACERS];
	for (int i = 0; i < RACERS; i++)
		pthread_create(&t[i], NULL, init_thread, NULL);
	for (int i = 0; i < RACERS; i++)
		pthread_join(t[i], NULL);
	cr_assert_not_null(get_shm_user_base());
	cr_assert(shm_init(NULL, path));
	cr_assert_neq(shm_malloc(8), SHM_NULL);
}

Test(open, from_memory_image)
{
	size_t len = get_mapping_size_needed_by_shm();
	void *img = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct shm_arena a;
	cr_assert_eq(shm_arena_from_memory(&a, img, len, false), SHM_E_MAGIC);
	cr_assert_eq(shm_arena_from_memory(&a, img, len - 1, true), SHM_E_SIZE);
	cr_assert_eq(shm_arena_from_memory(&a, img, len, true), SHM_OK);
	shm_offt o = shm_arena_malloc(&a, 32);
	cr_assert_neq(o, SHM_NULL);
	struct shm_arena b;
	cr_assert_eq(shm_arena_from_memory(&b, img, len, false), SHM_OK);
	shm_arena_free(&b, o);
	struct shm_stats st;
	shm_arena_stats(&b, &st);
	cr_assert_eq(st.bytes_in_use, 0);
	memcpy(img, "garbage!", 8);
	cr_assert_eq(shm_arena_from_memory(&b, img, len, false), SHM_E_MAGIC);
	munmap(img, len);
}
