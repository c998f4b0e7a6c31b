using System.Security.Cryptography;
using System.Text;

namespace Airlock.Core.Identity;

/// <summary>
/// Gateway API keys: <c>alk_</c> + 12-char key id + <c>_</c> + 32-char secret + 6-char checksum, all base62.
/// The id is public (listed, audited); the secret carries ~190 bits of entropy; the CRC32 checksum
/// (the same idea as GitHub's token format) lets the gateway reject typos and lets secret scanners
/// recognise a leaked Airlock key without a database.
/// Keys are stored only as SHA-256 digests: a high-entropy random secret needs no slow hash.
/// </summary>
public static class ApiKeys
{
    /// <summary>Prefix of every Airlock key.</summary>
    public const string Prefix = "alk_";

    private const int IdLength = 12;
    private const int SecretLength = 32;
    private const int ChecksumLength = 6;

    /// <summary>Total length of a well-formed key.</summary>
    public const int Length = 4 + IdLength + 1 + SecretLength + ChecksumLength;

    /// <summary>Creates a new random key; returns the full key (shown once) and its public id.</summary>
    public static (string Key, string Id) Generate()
    {
        var id = Base62.Random(IdLength);
        var body = Prefix + id + "_" + Base62.Random(SecretLength);
        return (body + Checksum(body), id);
    }

    /// <summary>Extracts the key id from a well-formed key whose checksum verifies.</summary>
    public static bool TryParse(ReadOnlySpan<char> key, out string id)
    {
        id = "";
        if (key.Length != Length || !key.StartsWith(Prefix, StringComparison.Ordinal) || key[4 + IdLength] != '_')
        {
            return false;
        }
        foreach (var c in key[4..])
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }
        var body = key[..^ChecksumLength];
        if (!key[^ChecksumLength..].SequenceEqual(Checksum(body)))
        {
            return false;
        }
        id = key.Slice(4, IdLength).ToString();
        return true;
    }

    /// <summary>SHA-256 digest of the whole key, the only form ever stored.</summary>
    public static byte[] Hash(ReadOnlySpan<char> key)
    {
        // Sized for the input, not for a well-formed key: callers may pass whatever a client presented.
        var max = Encoding.UTF8.GetMaxByteCount(key.Length);
        Span<byte> utf8 = max <= 1024 ? stackalloc byte[max] : new byte[max];
        var count = Encoding.UTF8.GetBytes(key, utf8);
        return SHA256.HashData(utf8[..count]);
    }

    /// <summary>Constant-time comparison of a presented key with a stored digest.</summary>
    public static bool Matches(ReadOnlySpan<char> key, ReadOnlySpan<byte> storedHash) =>
        CryptographicOperations.FixedTimeEquals(Hash(key), storedHash);

    private static string Checksum(ReadOnlySpan<char> body)
    {
        Span<byte> bytes = stackalloc byte[body.Length];
        for (var i = 0; i < body.Length; i++)
        {
            bytes[i] = (byte)body[i];
        }
        return Base62.Encode(System.IO.Hashing.Crc32.HashToUInt32(bytes), ChecksumLength);
    }
}

/// <summary>Base62 (0-9, A-Z, a-z) helpers.</summary>
public static class Base62
{
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// <summary>Uniformly random base62 string from the OS CSPRNG.</summary>
    public static string Random(int length) => RandomNumberGenerator.GetString(Alphabet, length);

    /// <summary>Fixed-width base62 encoding of a number, most significant digit first, left-padded with '0'.</summary>
    public static string Encode(ulong value, int width)
    {
        Span<char> chars = stackalloc char[width];
        for (var i = width - 1; i >= 0; i--)
        {
            chars[i] = Alphabet[(int)(value % 62)];
            value /= 62;
        }
        return new string(chars);
    }
}
