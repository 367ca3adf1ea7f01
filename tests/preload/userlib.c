/* userlib.c - stands for a user's own LD_PRELOAD library (it does nothing):
 * the shim must keep it in the environment of every exec and add itself. */
int shmcache_test_userlib_marker(void);
int shmcache_test_userlib_marker(void)
{
	return 42;
}
