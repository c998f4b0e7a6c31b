using System.Buffers.Binary;
using NSec.Cryptography;

namespace Airlock.Core.Audit;

/// <summary>
/// A signed statement "the chain had this hash at this sequence at this time". Rewriting any record at or
/// before a checkpoint changes the hashes the checkpoint signed, and forging a new signature needs the
/// gateway's private key, which never leaves its data directory.
/// </summary>
/// <param name="Sequence">Sequence of the record the checkpoint covers.</param>
/// <param name="Hash">That record's chain hash (lowercase hex).</param>
/// <param name="Time">When the checkpoint was signed (milliseconds are kept).</param>
/// <param name="KeyId">Id of the signing key (<see cref="AuditSigningKey.KeyId"/>).</param>
/// <param name="Signature">Ed25519 signature of <see cref="SignedBytes"/> (lowercase hex, 64 bytes).</param>
public sealed record AuditCheckpoint(long Sequence, string Hash, DateTimeOffset Time, string KeyId, string Signature)
{
    private static readonly byte[] Magic = "AIRLOCK-AUDIT-CHECKPOINT"u8.ToArray();

    /// <summary>
    /// The signed message, version 1: ASCII <c>AIRLOCK-AUDIT-CHECKPOINT</c>, byte <c>0x01</c>, the sequence
    /// (int64 big-endian), the 32-byte hash, the time in Unix milliseconds (int64 big-endian).
    /// </summary>
    public static byte[] SignedBytes(long sequence, ReadOnlySpan<byte> hash, DateTimeOffset time)
    {
        if (hash.Length != AuditCanonicalEncoding.HashSize)
        {
            throw new ArgumentException($"hash must be {AuditCanonicalEncoding.HashSize} bytes", nameof(hash));
        }
        var bytes = new byte[Magic.Length + 1 + 8 + AuditCanonicalEncoding.HashSize + 8];
        Magic.CopyTo(bytes, 0);
        var at = Magic.Length;
        bytes[at++] = 1;
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(at), sequence);
        at += 8;
        hash.CopyTo(bytes.AsSpan(at));
        at += AuditCanonicalEncoding.HashSize;
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(at), time.ToUnixTimeMilliseconds());
        return bytes;
    }

    /// <summary>True when <see cref="Signature"/> is a valid signature of this checkpoint under <paramref name="publicKey"/>.</summary>
    public bool IsSignedBy(AuditPublicKey publicKey)
    {
        ArgumentNullException.ThrowIfNull(publicKey);
        byte[] hash, signature;
        try
        {
            hash = Convert.FromHexString(Hash);
            signature = Convert.FromHexString(Signature);
        }
        catch (FormatException)
        {
            return false;
        }
        return hash.Length == AuditCanonicalEncoding.HashSize && publicKey.Verify(SignedBytes(Sequence, hash, Time), signature);
    }
}

/// <summary>An Ed25519 public key that checkpoints are verified against.</summary>
public sealed class AuditPublicKey
{
    private AuditPublicKey(PublicKey key)
    {
        Key = key;
        Raw = key.Export(KeyBlobFormat.RawPublicKey);
        KeyId = AuditSigningKey.IdOf(Raw);
    }

    internal PublicKey Key { get; }

    internal static AuditPublicKey From(PublicKey key) => new(key);

    /// <summary>True when <paramref name="signature"/> is a valid Ed25519 signature of <paramref name="data"/> under this key.</summary>
    public bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) => SignatureAlgorithm.Ed25519.Verify(Key, data, signature);

    /// <summary>The 32 raw key bytes (RFC 8032).</summary>
    public byte[] Raw { get; }

    /// <summary>Short id: the first 8 bytes of SHA-256 of the raw key, hex.</summary>
    public string KeyId { get; }

    /// <summary>PEM (SubjectPublicKeyInfo) text, as <c>openssl pkey -pubin</c> reads it.</summary>
    public string ToPem() => System.Text.Encoding.ASCII.GetString(Key.Export(KeyBlobFormat.PkixPublicKeyText));

    /// <summary>From 32 raw bytes.</summary>
    public static AuditPublicKey FromRaw(ReadOnlySpan<byte> raw) =>
        new(PublicKey.Import(SignatureAlgorithm.Ed25519, raw, KeyBlobFormat.RawPublicKey));

    /// <summary>From PEM text (<c>-----BEGIN PUBLIC KEY-----</c>) or 64 hex characters; throws <see cref="FormatException"/> otherwise.</summary>
    public static AuditPublicKey Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        if (trimmed.Length == 64 && trimmed.All(Uri.IsHexDigit))
        {
            return FromRaw(Convert.FromHexString(trimmed));
        }
        if (PublicKey.TryImport(SignatureAlgorithm.Ed25519, System.Text.Encoding.ASCII.GetBytes(trimmed), KeyBlobFormat.PkixPublicKeyText, out var key) && key is not null)
        {
            return new AuditPublicKey(key);
        }
        throw new FormatException("not an Ed25519 public key (expected PEM 'BEGIN PUBLIC KEY' or 64 hex characters)");
    }
}

/// <summary>
/// The gateway's Ed25519 checkpoint-signing key, kept as a PKCS#8 PEM file (0600) in the data directory.
/// Only the public half is ever shown (<c>airlock audit public-key</c>).
/// </summary>
public sealed class AuditSigningKey : IDisposable
{
    /// <summary>File name of the key in the data directory.</summary>
    public const string FileName = "audit-signing-key.pem";

    private readonly Key _key;

    private AuditSigningKey(Key key)
    {
        _key = key;
        PublicKey = AuditPublicKey.From(key.PublicKey);
    }

    /// <summary>The public half.</summary>
    public AuditPublicKey PublicKey { get; }

    /// <summary>Id of the key (<see cref="AuditPublicKey.KeyId"/>).</summary>
    public string KeyId => PublicKey.KeyId;

    /// <summary>Short id of a raw public key: first 8 bytes of its SHA-256, hex.</summary>
    public static string IdOf(ReadOnlySpan<byte> rawPublicKey) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(rawPublicKey)[..8]);

    /// <summary>Imports a 32-byte RFC 8032 private key (seed).</summary>
    public static AuditSigningKey FromSeed(ReadOnlySpan<byte> seed) =>
        new(Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey));

    /// <summary>Loads the key at <paramref name="path"/>, creating it (0600) if the file does not exist.</summary>
    public static AuditSigningKey LoadOrCreate(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (File.Exists(path))
        {
            return Load(path);
        }
        using var key = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextArchiving });
        var pem = key.Export(KeyBlobFormat.PkixPrivateKeyText);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        try
        {
            using var file = new FileStream(path, options);
            file.Write(pem);
            file.Flush(flushToDisk: true);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created it first: use theirs, so both sign with the same key.
        }
        return Load(path);
    }

    /// <summary>Loads an existing key file; throws <see cref="InvalidDataException"/> naming the file when it is not an Ed25519 private key.</summary>
    public static AuditSigningKey Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (!Key.TryImport(SignatureAlgorithm.Ed25519, bytes, KeyBlobFormat.PkixPrivateKeyText, out var key, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.None }) || key is null)
        {
            throw new InvalidDataException($"{path}: not an Ed25519 private key (PKCS#8 PEM)");
        }
        return new AuditSigningKey(key);
    }

    /// <summary>Signs the chain head: a checkpoint for <paramref name="sequence"/> with <paramref name="hash"/> at <paramref name="time"/>.</summary>
    public AuditCheckpoint Sign(long sequence, ReadOnlySpan<byte> hash, DateTimeOffset time)
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(time.ToUnixTimeMilliseconds());
        var signature = SignatureAlgorithm.Ed25519.Sign(_key, AuditCheckpoint.SignedBytes(sequence, hash, at));
        return new AuditCheckpoint(sequence, Convert.ToHexStringLower(hash), at, KeyId, Convert.ToHexStringLower(signature));
    }

    /// <summary>Signs arbitrary bytes (RFC 8032 test vectors).</summary>
    public byte[] SignBytes(ReadOnlySpan<byte> data) => SignatureAlgorithm.Ed25519.Sign(_key, data);

    /// <inheritdoc/>
    public void Dispose() => _key.Dispose();
}
