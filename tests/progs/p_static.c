/* Linked statically: the loader that would preload the shim never runs.
 * usage: p_static FILE */
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);

	return fd < 0 || write(fd, "static\n", 7) != 7;
}
