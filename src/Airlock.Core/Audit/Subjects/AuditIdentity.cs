using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Airlock.Core.Audit;

/// <summary>
/// How the chain commits to who made a request without making that identity permanent. A version 2 record's hash
/// covers <c>HMAC-SHA256(key = salt, "AIRLOCK-AUDIT-IDENTITY" ‖ 0x01 ‖ user ‖ client_address)</c> (strings encoded as
/// in <see cref="AuditCanonicalEncoding"/>) instead of the user and client address; the row keeps the clear values and
/// the 32-byte random salt beside the commitment. While the salt is there, anyone can check the clear values against
/// the commitment. Erasure deletes the salt and replaces the user by a pseudonym and the client address by null: the
/// commitment (and so every hash, link and signed checkpoint) is unchanged, and without the salt it cannot be linked
/// back to the person (a 256-bit random key: no dictionary of names helps).
/// </summary>
public static class AuditIdentity
{
    /// <summary>Salt size in bytes.</summary>
    public const int SaltSize = 32;

    /// <summary>Commitment size in bytes (HMAC-SHA256).</summary>
    public const int CommitmentSize = 32;

    /// <summary>Prefix of every pseudonym erasure writes in place of a user.</summary>
    public const string PseudonymPrefix = "erased:";

    private static readonly byte[] Domain = "AIRLOCK-AUDIT-IDENTITY\u0001"u8.ToArray();

    /// <summary>A fresh random salt.</summary>
    public static byte[] NewSalt() => RandomNumberGenerator.GetBytes(SaltSize);

    /// <summary>The commitment to (<paramref name="user"/>, <paramref name="clientAddress"/>) under <paramref name="salt"/>.</summary>
    public static byte[] Commit(ReadOnlySpan<byte> salt, string? user, string? clientAddress)
    {
        if (salt.Length != SaltSize)
        {
            throw new ArgumentException($"identity salt must be {SaltSize} bytes", nameof(salt));
        }
        var message = new ArrayBufferWriter<byte>(128);
        message.Write(Domain);
        Str(message, user);
        Str(message, clientAddress);
        return HMACSHA256.HashData(salt, message.WrittenSpan);
    }

    /// <summary>A new pseudonym for an erased subject (random, so it says nothing about the person).</summary>
    public static string NewPseudonym() => PseudonymPrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    /// <summary>True when <paramref name="user"/> is null or a pseudonym written by erasure.</summary>
    public static bool IsErased(string? user) => user is null || user.StartsWith(PseudonymPrefix, StringComparison.Ordinal);

    /// <summary>
    /// Checks a version 2 record's identity against its commitment: null when it holds, else the reason. A record whose
    /// salt was deleted (erased) must show a pseudonym (or no user) and no client address.
    /// </summary>
    public static string? Check(AuditRecord record, ReadOnlySpan<byte> commitment)
    {
        ArgumentNullException.ThrowIfNull(record);
        var salt = record.Chain?.IdentitySalt;
        if (salt is null)
        {
            return IsErased(record.User) && record.ClientAddress is null
                ? null
                : "identity salt is missing but the user is not pseudonymised: the record was edited";
        }
        if (salt.Length != SaltSize * 2 || !TryHex(salt, out var saltBytes))
        {
            return "identity salt is not 64 hex characters";
        }
        return Commit(saltBytes, record.User, record.ClientAddress).AsSpan().SequenceEqual(commitment)
            ? null
            : "user or client address does not match its identity commitment: the record was edited";
    }

    private static bool TryHex(string hex, out byte[] bytes)
    {
        try
        {
            bytes = Convert.FromHexString(hex);
            return true;
        }
        catch (FormatException)
        {
            bytes = [];
            return false;
        }
    }

    private static void Str(ArrayBufferWriter<byte> w, string? value)
    {
        if (value is null)
        {
            w.GetSpan(1)[0] = 0;
            w.Advance(1);
            return;
        }
        w.GetSpan(1)[0] = 1;
        w.Advance(1);
        var length = Encoding.UTF8.GetByteCount(value);
        BinaryPrimitives.WriteUInt32BigEndian(w.GetSpan(4), checked((uint)length));
        w.Advance(4);
        w.Advance(Encoding.UTF8.GetBytes(value, w.GetSpan(length)));
    }
}
