/* Sleeps and timed waits with known arguments, and clock reads. */
#include <poll.h>
#include <stdio.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	struct timespec ts = { 0, 2000000 }, now;
	struct timeval tv = { 0, 3000 };
	int reads = 0;

	nanosleep(&ts, NULL);
	clock_gettime(CLOCK_MONOTONIC, &now);
	now.tv_nsec += 1000000;
	if (now.tv_nsec >= 1000000000) {
		now.tv_sec++;
		now.tv_nsec -= 1000000000;
	}
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &now, NULL);
	usleep(1500);
	poll(NULL, 0, 4);
	select(0, NULL, NULL, NULL, &tv);
	alarm(0);
	for (int i = 0; i < 100; i++) {
		clock_gettime(CLOCK_REALTIME, &now);
		reads++;
	}
	time(NULL);
	printf("p_sleeps done %d\n", reads + 2);
	return 0;
}
