namespace Airlock.ClaudeCode.SecretFiles;

/// <summary>A tool path after resolution: what the tool asked for, lexically normalized, and what it really opens.</summary>
/// <param name="Normalized">Absolute, with <c>~</c> expanded and <c>.</c>/<c>..</c> removed (symlinks untouched).</param>
/// <param name="Real">Every symlink on the way resolved (the file the tool would open), or the normalized path when nothing is a link.</param>
public sealed record ResolvedPath(string Normalized, string Real)
{
    /// <summary>Both spellings, without repeating an identical one: a deny list is checked against each.</summary>
    public IEnumerable<string> Candidates => string.Equals(Normalized, Real, StringComparison.Ordinal) ? [Normalized] : [Normalized, Real];
}

/// <summary>
/// Turns a path from a tool call into the file it names: <c>~</c> expanded, made absolute against the
/// session's working directory, <c>..</c> removed, and symlinks followed (every component, not only the
/// last, so a linked directory cannot hide <c>.aws/credentials</c>).
/// </summary>
public static class PathResolver
{
    private const int MaxLinkHops = 40;

    /// <summary>Resolves <paramref name="path"/>; null when it is empty or not a path at all.</summary>
    public static ResolvedPath? Resolve(string? path, string workingDirectory, string? home)
    {
        if (string.IsNullOrWhiteSpace(path) || path.Contains('\0', StringComparison.Ordinal))
        {
            return null;
        }
        var expanded = path;
        if (home is { Length: > 0 } && (path == "~" || path.StartsWith("~/", StringComparison.Ordinal)))
        {
            expanded = home + path[1..];
        }
        string normalized;
        try
        {
            normalized = Path.GetFullPath(Path.IsPathRooted(expanded) ? expanded : Path.Combine(workingDirectory, expanded));
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return null;
        }
        return new ResolvedPath(normalized, FollowLinks(normalized));
    }

    /// <summary>
    /// Walks the path one component at a time; whenever the prefix so far is a symlink, replaces it with its
    /// target (relative targets are relative to the link's directory) and goes on. Stops after
    /// <see cref="MaxLinkHops"/> links (a loop) and then returns what it has.
    /// </summary>
    internal static string FollowLinks(string absolute)
    {
        var root = Path.GetPathRoot(absolute) ?? "/";
        var pending = new Queue<string>(absolute[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries));
        var current = root;
        var hops = 0;
        while (pending.Count > 0)
        {
            var next = Path.Combine(current, pending.Dequeue());
            string? target = null;
            try
            {
                target = new FileInfo(next).LinkTarget;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Unreadable: treat as a plain component.
            }
            if (target is null || ++hops > MaxLinkHops)
            {
                current = next;
                continue;
            }
            var resolved = Path.GetFullPath(Path.IsPathRooted(target) ? target : Path.Combine(current, target));
            var rest = pending.ToArray();
            var targetRoot = Path.GetPathRoot(resolved) ?? "/";
            pending = new Queue<string>(resolved[targetRoot.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Concat(rest));
            current = targetRoot;
        }
        return current;
    }
}
