using System.Security.Cryptography;
using System.Text;

namespace Airlock.Core.Audit.Capture;

/// <summary>
/// Wraps and unwraps data keys with a master key the store never sees. The built-in implementation holds the master
/// key in memory (<see cref="AesGcmKeyWrapper"/>); an external KMS (AWS KMS Encrypt/Decrypt, Cloud KMS, Vault transit)
/// implements the same two calls, with the context as its encryption context.
/// </summary>
public interface IKeyWrapper
{
    /// <summary>Identifies the master key (stored beside each wrapped key, so a rotated master key is noticed).</summary>
    string KeyId { get; }

    /// <summary>Wraps <paramref name="dataKey"/>, bound to <paramref name="context"/>.</summary>
    ValueTask<byte[]> WrapAsync(ReadOnlyMemory<byte> dataKey, string context, CancellationToken cancellationToken = default);

    /// <summary>Unwraps a key wrapped with the same <paramref name="context"/>.</summary>
    /// <exception cref="CryptographicException">The wrapped key was altered, or wrapped by another master key or context.</exception>
    ValueTask<byte[]> UnwrapAsync(ReadOnlyMemory<byte> wrapped, string context, CancellationToken cancellationToken = default);
}

/// <summary>
/// Wraps data keys with a 256-bit master key using AES-256-GCM: <c>nonce (12) ‖ ciphertext (32) ‖ tag (16)</c>, the
/// context (e.g. the period) as associated data, so a wrapped key moved to another period no longer opens.
/// </summary>
public sealed class AesGcmKeyWrapper : IKeyWrapper, IDisposable
{
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private static readonly byte[] Domain = "AIRLOCK-DATA-KEY\u0001"u8.ToArray();
    private readonly AesGcm _aes;

    /// <param name="masterKey">32 bytes.</param>
    public AesGcmKeyWrapper(ReadOnlySpan<byte> masterKey)
    {
        if (masterKey.Length != 32)
        {
            throw new ArgumentException("the capture master key must be 32 bytes (256 bits)", nameof(masterKey));
        }
        _aes = new AesGcm(masterKey, TagSize);
        // The id is a hash of a derived value, never of the key itself alone: it names the key without helping to guess it.
        KeyId = Convert.ToHexStringLower(HMACSHA256.HashData(masterKey, "AIRLOCK-MASTER-KEY-ID"u8)[..8]);
    }

    /// <inheritdoc/>
    public string KeyId { get; }

    /// <inheritdoc/>
    public ValueTask<byte[]> WrapAsync(ReadOnlyMemory<byte> dataKey, string context, CancellationToken cancellationToken = default)
    {
        var output = new byte[NonceSize + dataKey.Length + TagSize];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        _aes.Encrypt(nonce, dataKey.Span, output.AsSpan(NonceSize, dataKey.Length), output.AsSpan(NonceSize + dataKey.Length), Aad(context));
        return ValueTask.FromResult(output);
    }

    /// <inheritdoc/>
    public ValueTask<byte[]> UnwrapAsync(ReadOnlyMemory<byte> wrapped, string context, CancellationToken cancellationToken = default)
    {
        var span = wrapped.Span;
        if (span.Length <= NonceSize + TagSize)
        {
            throw new CryptographicException("wrapped data key is too short");
        }
        var key = new byte[span.Length - NonceSize - TagSize];
        _aes.Decrypt(span[..NonceSize], span[NonceSize..^TagSize], span[^TagSize..], key, Aad(context));
        return ValueTask.FromResult(key);
    }

    private static byte[] Aad(string context) => [.. Domain, .. Encoding.UTF8.GetBytes(context)];

    /// <inheritdoc/>
    public void Dispose() => _aes.Dispose();
}
