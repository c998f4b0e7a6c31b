namespace Airlock.Inspection.Policy;

/// <summary>One configuration mistake: where it is (e.g. <c>rules[2].action</c>) and why it is wrong.</summary>
/// <param name="Path">Location inside <see cref="InspectionPolicyOptions"/>.</param>
/// <param name="Reason">What is wrong, in words a reviewer can act on.</param>
public sealed record PolicyValidationError(string Path, string Reason)
{
    /// <inheritdoc/>
    public override string ToString() => Path + ": " + Reason;
}

/// <summary>Thrown by <see cref="InspectionPolicy.Create"/> with every error found, not just the first.</summary>
public sealed class InspectionPolicyException : Exception
{
    public InspectionPolicyException()
        : this([])
    {
    }

    public InspectionPolicyException(string message)
        : base(message)
    {
        Errors = [];
    }

    public InspectionPolicyException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [];
    }

    public InspectionPolicyException(IReadOnlyList<PolicyValidationError> errors)
        : base(FormatMessage(errors))
    {
        Errors = errors;
    }

    /// <summary>Every validation error, in configuration order.</summary>
    public IReadOnlyList<PolicyValidationError> Errors { get; }

    private static string FormatMessage(IReadOnlyList<PolicyValidationError> errors)
    {
        return errors.Count == 0
            ? "invalid inspection policy"
            : "invalid inspection policy: " + string.Join("; ", errors);
    }
}
