namespace Airlock.Storage.Sqlite;

/// <summary>
/// The data directory holds the database and generated secrets (finding-hash key, admin token digest):
/// it is created readable by the service account only.
/// </summary>
public static class DataDirectory
{
    /// <summary>Creates <paramref name="path"/> if needed, mode 0700 on Unix.</summary>
    public static void Ensure(string path)
    {
        if (!Directory.Exists(path))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(path);
            }
            else
            {
                Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
    }

    /// <summary>Makes a file readable and writable by its owner only (0600) on Unix.</summary>
    public static void RestrictFile(string path)
    {
        if (!OperatingSystem.IsWindows() && File.Exists(path))
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}
