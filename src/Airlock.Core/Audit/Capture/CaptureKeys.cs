using Airlock.Core.Configuration;

namespace Airlock.Core.Audit.Capture;

/// <summary>Builds the master-key wrapper the configuration names (file or environment variable), or none.</summary>
public static class CaptureKeys
{
    /// <summary>The wrapper for <c>audit.capture.master_key_file</c> / <c>master_key_env</c>, or null when neither is set.</summary>
    /// <exception cref="InvalidOperationException">The key cannot be read or is not 256 bits (the message names the source, never the key).</exception>
    public static AesGcmKeyWrapper? FromConfig(CaptureConfig capture, Func<string, string?> getEnvironment)
    {
        ArgumentNullException.ThrowIfNull(capture);
        byte[]? key = capture.MasterKeyFile is { } file ? MasterKeySource.FromFile(file)
            : capture.MasterKeyEnv is { } variable ? MasterKeySource.FromEnvironment(variable, getEnvironment)
            : null;
        if (key is null)
        {
            return null;
        }
        try
        {
            return new AesGcmKeyWrapper(key);
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(key);
        }
    }
}
