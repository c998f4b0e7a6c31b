using System.Security.Cryptography;
using Airlock.Storage.Sqlite;

namespace Airlock.Gateway.Inspection;

/// <summary>
/// The key of the keyed hash (HMAC-SHA256) that identifies a finding's value in placeholders, audit
/// records and reports without revealing it. It is 32 random bytes, created on first start in
/// <c>data_dir/finding-hash.key</c> (mode 0600), or supplied base64-encoded in
/// <c>AIRLOCK_FINDING_HASH_KEY</c> so replicas share it (placeholders must be identical whichever
/// replica handles a turn, or prompt caching breaks). Rotating it changes every placeholder.
/// </summary>
public static class FindingKey
{
    /// <summary>Environment variable that supplies the key (base64, at least 16 bytes).</summary>
    public const string EnvironmentVariable = "AIRLOCK_FINDING_HASH_KEY";

    /// <summary>File name inside the data directory.</summary>
    public const string FileName = "finding-hash.key";

    /// <summary>Returns the key from the environment, else from the data directory, creating it there if needed.</summary>
    public static byte[] LoadOrCreate(string dataDir, Func<string, string?> getEnvironment)
    {
        ArgumentNullException.ThrowIfNull(getEnvironment);
        if (getEnvironment(EnvironmentVariable) is { Length: > 0 } encoded)
        {
            byte[] fromEnvironment;
            try
            {
                fromEnvironment = Convert.FromBase64String(encoded);
            }
            catch (FormatException)
            {
                throw new Core.Configuration.ConfigurationException("environment", [$"{EnvironmentVariable}: not valid base64"]);
            }
            if (fromEnvironment.Length < 16)
            {
                throw new Core.Configuration.ConfigurationException("environment", [$"{EnvironmentVariable}: must decode to at least 16 bytes"]);
            }
            return fromEnvironment;
        }
        DataDirectory.Ensure(dataDir);
        var path = Path.Combine(dataDir, FileName);
        if (File.Exists(path))
        {
            var existing = File.ReadAllBytes(path);
            if (existing.Length >= 16)
            {
                return existing;
            }
            throw new Core.Configuration.ConfigurationException(path, ["finding hash key file is shorter than 16 bytes; restore it from backup (deleting it changes every placeholder)"]);
        }
        var key = RandomNumberGenerator.GetBytes(32);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var stream = new FileStream(path, options))
        {
            stream.Write(key);
        }
        return key;
    }
}
