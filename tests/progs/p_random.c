/* Reads 16 bytes from getrandom and 16 from /dev/urandom, prints them in
 * hex: the recording must keep exactly these bytes. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/random.h>
#include <unistd.h>

int main(void)
{
	unsigned char a[16], b[16];
	int fd = open("/dev/urandom", O_RDONLY);

	if (getrandom(a, 16, 0) != 16 || fd < 0 || read(fd, b, 16) != 16)
		return 1;
	for (int i = 0; i < 16; i++)
		printf("%02x", a[i]);
	printf("\n");
	for (int i = 0; i < 16; i++)
		printf("%02x", b[i]);
	printf("\n");
	return 0;
}
