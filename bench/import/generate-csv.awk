# Realistic Spanish-Excel records for the import benchmark: `;`, decimal commas, dd/mm/yyyy,
# valid DNIs, unique e-mails and phones, postal codes, zone codes. awk -v rows=N -f generate-csv.awk
BEGIN {
    srand(42)
    split("Ana María José Luis Carmen Javier Lucía Pablo Elena Sergio Marta Iñaki Nerea Jorge Rocío Álvaro Sofía Andrés Paula Raúl", first, " ")
    split("García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez Martín Jiménez Ruiz Hernández Díaz Moreno Muñoz Álvarez Romero Alonso Gutiérrez", last, " ")
    split("Talleres Construcciones Distribuciones Suministros Conservas Bodegas Transportes Servicios Grupo Industrias", kind, " ")
    split("Industria Alimentación Servicios Construcción", sector, " ")
    letters = "TRWAGMYFPDXBNJZSQVHLCKE"
    print "Id externo;Nombre;Apellidos;Empresa;Correo electrónico;Teléfono;NIF/CIF;Sector;Facturación;Fecha de alta;CP;Empleados;Zona"
    for (i = 1; i <= rows; i++) {
        f = first[int(rand() * 20) + 1]; l = last[int(rand() * 20) + 1]
        company = kind[int(rand() * 10) + 1] " " last[int(rand() * 20) + 1] " S.L."
        dni = 10000000 + i
        nif = dni substr(letters, dni % 23 + 1, 1)
        phone = 600000000 + i
        amount = int(rand() * 5000000)
        euros = int(amount / 100); cents = amount % 100
        thousands = euros >= 1000 ? int(euros / 1000) "." sprintf("%03d", euros % 1000) : euros
        day = int(rand() * 28) + 1; month = int(rand() * 12) + 1; year = 2015 + int(rand() * 11)
        province = int(rand() * 52) + 1
        cp = sprintf("%02d%03d", province, int(rand() * 1000))
        printf "EXT-%d;%s;%s;%s;persona%d@empresa%d.es;%d;%s;%s;%s,%02d;%02d/%02d/%d;%s;%d;Z%d\n", i, f, l, company, i, i % 997, phone, nif, sector[int(rand() * 4) + 1], thousands, cents, day, month, year, cp, int(rand() * 500) + 1, i % 8 + 1
    }
}
