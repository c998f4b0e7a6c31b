using System.Security.Cryptography;
using System.Text;

namespace Airlock.Core.Audit.Capture;

/// <summary>
/// Reads the capture master key from a file or an environment variable: 32 raw bytes, or their base64 or hex text
/// (whitespace around it ignored). Errors name the source and what is wrong, never a byte of the key.
/// </summary>
public static class MasterKeySource
{
    /// <summary>Loads the key from <paramref name="path"/>.</summary>
    /// <exception cref="InvalidOperationException">The file is missing, unreadable or not a 256-bit key.</exception>
    public static byte[] FromFile(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"capture master key file {path}: {ex.GetType().Name}: cannot be read", ex);
        }
        return bytes.Length == 32 ? bytes : Decode(Encoding.ASCII.GetString(bytes), $"capture master key file {path}");
    }

    /// <summary>Loads the key from the environment variable <paramref name="name"/>.</summary>
    public static byte[] FromEnvironment(string name, Func<string, string?> getEnvironment)
    {
        ArgumentNullException.ThrowIfNull(getEnvironment);
        return getEnvironment(name) is { Length: > 0 } text
            ? Decode(text, $"capture master key variable {name}")
            : throw new InvalidOperationException($"capture master key variable {name} is not set");
    }

    /// <summary>A new random master key as base64 (what <c>airlock audit capture-key</c> style tooling writes).</summary>
    public static string NewKeyText() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private static byte[] Decode(string text, string source)
    {
        text = text.Trim();
        byte[]? key = null;
        if (text.Length == 64)
        {
            try
            {
                key = Convert.FromHexString(text);
            }
            catch (FormatException)
            {
                key = null;
            }
        }
        if (key is null)
        {
            var buffer = new byte[48];
            if (Convert.TryFromBase64String(text, buffer, out var written))
            {
                key = buffer[..written];
            }
        }
        return key is { Length: 32 }
            ? key
            : throw new InvalidOperationException($"{source}: not a 256-bit key (expected 32 bytes as base64 or 64 hex characters)");
    }
}
