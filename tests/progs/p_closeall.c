/* Closes every descriptor, dup2s over high numbers (where a careless shim
 * might keep its own), then writes a file.  usage: p_closeall FILE */
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int fd;

	for (int i = 0; i < 1024; i++)
		close(i);
	fd = open("/dev/null", O_RDWR);
	for (int i = 3; i < 1024; i++)
		dup2(fd, i);
	for (int i = 3; i < 1024; i++)
		close(i);
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 1;
	if (write(fd, "after closeall\n", 15) != 15)
		return 1;
	return close(fd) ? 1 : 0;
}
