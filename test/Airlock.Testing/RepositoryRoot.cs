namespace Airlock.Testing;

/// <summary>Finds the repository root: the nearest folder above the test binaries that holds <c>Airlock.slnx</c>.</summary>
public static class RepositoryRoot
{
    private const string MarkerFile = "Airlock.slnx";

    private static readonly Lazy<string?> LazyRoot = new(() => Find(AppContext.BaseDirectory));

    /// <summary>The root folder, or null when the tests run outside a checkout.</summary>
    public static string? Path => LazyRoot.Value;

    /// <summary>The root folder; throws with a clear message when there is none.</summary>
    public static string Require()
        => Path ?? throw new InvalidOperationException(
            $"No folder holding {MarkerFile} above {AppContext.BaseDirectory}: run the tests from a checkout of the repository.");

    /// <summary>Walks up from <paramref name="start"/> to the first folder holding <c>Airlock.slnx</c>.</summary>
    public static string? Find(string start)
    {
        for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, MarkerFile)))
            {
                return directory.FullName;
            }
        }

        return null;
    }
}
