namespace Airlock.ClaudeCode.Events;

/// <summary>
/// Events waiting for the gateway, one file each under the hook's <c>queue/</c> folder. Every event is
/// written here first (temp + rename, so a crash never leaves half a file), then sent; a file is deleted only
/// once the gateway acknowledged it. Several hook processes may flush at once: the gateway stores each event
/// id once, so a double send is harmless.
/// </summary>
public sealed class EventSpool(string directory)
{
    /// <summary>Most events sent in one request.</summary>
    public const int BatchSize = 200;

    /// <summary>Beyond this many waiting events the oldest are dropped (a laptop offline for weeks must not fill its disk).</summary>
    public const int MaxQueued = 50_000;

    public string Directory { get; } = directory;

    /// <summary>Stores an event; returns the file it went to.</summary>
    public string Enqueue(ToolEvent toolEvent)
    {
        ArgumentNullException.ThrowIfNull(toolEvent);
        EnsureDirectory();
        // Sortable name: time first, so the oldest events go out first.
        var name = $"{toolEvent.Time.UtcTicks:D19}-{toolEvent.Id}.json";
        var path = Path.Combine(Directory, name);
        var temp = Path.Combine(Directory, "." + name + ".tmp");
        // CreateNew, not File.WriteAllBytes: opening with O_TRUNC makes ext4 (auto_da_alloc) flush the file's data at
        // close, a synchronous write on every hook call. A queued event survives a crashed hook process without it; a
        // power cut may lose the newest events, which the trail then lacks (the gateway sees no gap for them).
        using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1))
        {
            stream.Write(toolEvent.ToJson());
        }
        File.Move(temp, path, overwrite: true);
        return path;
    }

    /// <summary>The oldest waiting events (file path and content), at most <paramref name="max"/>.</summary>
    public List<(string Path, byte[] Json)> Peek(int max = BatchSize)
    {
        var items = new List<(string, byte[])>();
        if (!System.IO.Directory.Exists(Directory))
        {
            return items;
        }
        var files = System.IO.Directory.GetFiles(Directory, "*.json");
        Array.Sort(files, StringComparer.Ordinal);
        if (files.Length > MaxQueued)
        {
            foreach (var old in files.AsSpan(0, files.Length - MaxQueued))
            {
                TryDelete(old);
            }
            files = files[(files.Length - MaxQueued)..];
        }
        foreach (var file in files)
        {
            if (items.Count >= max)
            {
                break;
            }
            try
            {
                items.Add((file, File.ReadAllBytes(file)));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Another hook process delivered and deleted it meanwhile.
            }
        }
        return items;
    }

    /// <summary>Number of waiting events.</summary>
    public int Count => System.IO.Directory.Exists(Directory) ? System.IO.Directory.GetFiles(Directory, "*.json").Length : 0;

    /// <summary>Removes delivered events.</summary>
    public static void Remove(IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        foreach (var path in paths)
        {
            TryDelete(path);
        }
    }

    private void EnsureDirectory()
    {
        if (System.IO.Directory.Exists(Directory))
        {
            return;
        }
        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(Directory);
        }
        else
        {
            System.IO.Directory.CreateDirectory(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Gone already or locked; the next flush retries and the gateway deduplicates.
        }
    }
}
