namespace Airlock.Testing;

/// <summary>
/// A fresh, not yet created directory under the system temp folder for one test's data (an SQLite store, an audit
/// journal, a configuration). Disposing releases pooled SQLite connections first (they hold the files open) and then
/// deletes whatever was written there.
/// </summary>
public sealed class TempDataDirectory : IDisposable
{
    /// <summary>Names a directory <c>{prefix}{32 hex digits}</c> under the temp folder; nothing is created yet.</summary>
    public TempDataDirectory(string prefix) =>
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"));

    /// <summary>The directory's full path.</summary>
    public string Path { get; }

    /// <inheritdoc/>
    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
