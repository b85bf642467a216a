# The simulated board's flash for the unix port: a host folder mounted as `/`, and nothing
# above it. MicroPython's VfsPosix(root) alone is not a sandbox: it joins root and path as
# given, so "/../x" and a symlink lead out. This VFS (the protocol of extmod/vfs.c for a
# Python object: open, ilistdir, stat, mkdir, ...) resolves every path itself first: "." and
# ".." stay at "/", and no symlink is followed (a board's littlefs has none; one planted in the
# folder from the host reads as missing). Used by tools/rigboot.py.
import vfs

_S_IFMT = 0o170000
_S_IFLNK = 0o120000
_ENOENT = 2
_EROFS = 30


class FlashVfs:
    def __init__(self, root):
        self.root = root.rstrip("/") or "/"
        self._fs = vfs.VfsPosix(self.root)
        # VfsPosix(root).rename joins both paths through one buffer and loses the first
        # (ENOENT): rename through an unrooted VfsPosix with the host paths instead
        self._host = vfs.VfsPosix()
        self._cwd = "/"

    def resolve(self, path):
        # the in-flash absolute path of `path`, or OSError(ENOENT) through a symlink
        if not path.startswith("/"):
            path = self._cwd.rstrip("/") + "/" + path
        parts = []
        for p in path.split("/"):
            if p == "" or p == ".":
                continue
            if p == "..":
                if parts:
                    parts.pop()
                continue
            parts.append(p)
        cur = "/"
        for p in parts:
            for ent in self._fs.ilistdir(cur):
                if ent[0] == p:
                    if ent[1] & _S_IFMT == _S_IFLNK:
                        raise OSError(_ENOENT)
                    break
            else:
                break           # not there (yet): nothing further can be a link
            cur = cur.rstrip("/") + "/" + p
        return "/" + "/".join(parts)

    # ---- the VFS protocol ----
    def mount(self, readonly, mkfs):
        pass

    def umount(self):
        pass

    def ilistdir(self, path):
        for ent in self._fs.ilistdir(self.resolve(path)):
            if ent[1] & _S_IFMT != _S_IFLNK:
                yield ent

    def chdir(self, path):
        p = self.resolve(path)
        if self._fs.stat(p)[0] & _S_IFMT != 0o040000:
            raise OSError(20)   # ENOTDIR
        self._cwd = p

    def getcwd(self):
        return self._cwd

    def mkdir(self, path):
        self._fs.mkdir(self.resolve(path))

    def remove(self, path):
        self._fs.remove(self.resolve(path))

    def rmdir(self, path):
        self._fs.rmdir(self.resolve(path))

    def rename(self, old, new):
        base = "" if self.root == "/" else self.root
        self._host.rename(base + self.resolve(old), base + self.resolve(new))

    def stat(self, path):
        return self._fs.stat(self.resolve(path))

    def statvfs(self, path):
        return self._fs.statvfs(self.resolve(path))

    def open(self, path, mode):
        return self._fs.open(self.resolve(path), mode)


def mount(root):
    # the flash as `/`, in place of the host's root; the working directory is `/`
    import os
    fs = FlashVfs(root)
    vfs.umount("/")
    vfs.mount(fs, "/")
    os.chdir("/")
    return fs
