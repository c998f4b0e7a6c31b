using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Airlock.Inspection.Policy;

/// <summary>
/// Keyed hash of a matched value: HMAC-SHA256 over its UTF-8 bytes with a key the gateway keeps
/// in its data directory. The audit trail can then correlate "the same secret again" without
/// storing it, and nobody without the key can confirm a guessed value against a stored hash.
/// </summary>
public sealed class FindingHasher
{
    /// <summary>Shortest accepted key; HMAC-SHA256 keys shorter than the output weaken it (RFC 2104 §3).</summary>
    public const int MinimumKeyLength = 16;

    private const int StackLimit = 512;
    private readonly byte[] _key;

    public FindingHasher(ReadOnlySpan<byte> key)
    {
        if (key.Length < MinimumKeyLength)
        {
            throw new ArgumentException($"The hashing key must be at least {MinimumKeyLength} bytes.", nameof(key));
        }

        _key = key.ToArray();
    }

    /// <summary>A hasher with a fresh random key: hashes are stable only for this instance's lifetime.</summary>
    public static FindingHasher CreateEphemeral() => new(RandomNumberGenerator.GetBytes(32));

    /// <summary>Full lowercase hex HMAC (64 characters), for audit records.</summary>
    public string Hash(ReadOnlySpan<char> value)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        Compute(value, mac);
        return Convert.ToHexStringLower(mac);
    }

    /// <summary>First 4 hex characters of <see cref="Hash"/>, used inside redaction placeholders.</summary>
    public string ShortHash(ReadOnlySpan<char> value)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        Compute(value, mac);
        return Convert.ToHexStringLower(mac[..2]);
    }

    private void Compute(ReadOnlySpan<char> value, Span<byte> mac)
    {
        int max = Encoding.UTF8.GetMaxByteCount(value.Length);
        byte[]? rented = null;
        Span<byte> utf8 = max <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            int written = Encoding.UTF8.GetBytes(value, utf8);
            HMACSHA256.HashData(_key, utf8[..written], mac);
        }
        finally
        {
            if (rented is not null)
            {
                // The buffer held a secret: do not hand it back to the pool with the value inside.
                rented.AsSpan().Clear();
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
